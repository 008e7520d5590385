// Package grpcctx carries ctxtrail's request context across gRPC calls: the same trace, request
// ID, baggage and request store as otelctx's HTTP middleware and transport, through grpc-go's
// stats handlers.
//
// # Server
//
//	srv := grpc.NewServer(grpcctx.ServerOptions()...)
//
// ServerOptions installs NewServerHandler (a stats.Handler: extraction, the server span, the
// request store) and two small interceptors that echo x-request-id in the response header
// metadata. For each RPC the handler reads traceparent, tracestate, baggage,
// x-trace-id, x-span-id and x-request-id from the incoming metadata, in place and never
// writing to it, through the same incoming step as httpctx.NewHandler, bounded exactly as HTTP
// headers are: a thousand traceparents, oversized or non-ASCII values and "-bin" keys never
// become a trace; they start a fresh one and are counted through a propagators.WarnLimiter
// (WithProvider's Provider.WarnLimiter, which the Provider's Shutdown flushes, or
// WithWarnLimiter's). The request ID is a safe
// incoming x-request-id or a new one, and the request store holds rpc.method, so zapbridge
// lines and trail reports inside a handler carry it, as they carry http.request.method inside
// an HTTP handler. WithTrustBoundary makes a public server start a new root trace linked to the
// caller's and keep only allowed baggage members.
//
// ServerOptions also bounds the metadata of a call at DefaultMaxHeaderListSize (64 KiB, the
// MaxHeaderBytes of the shop's HTTP servers) instead of grpc-go's 16 MiB: a grpc-go client
// refuses to send more (codes.Internal), and grpc-go drops a call that comes anyway (it resets
// the stream, or closes a connection that keeps sending) before any handler runs.
// grpc.MaxHeaderListSize placed after ServerOptions' options changes the bound.
//
// Panics are trail's business: trailgrpc.UnaryServerInterceptor and
// trailgrpc.StreamServerInterceptor (package spans/trail/trailgrpc) turn a panic into an error
// report with the RPC's breadcrumbs and codes.Internal, and keep the server serving.
//
// # Client
//
//	conn, err := grpc.NewClient(target, grpc.WithStatsHandler(grpcctx.NewClientHandler()), ...)
//
// NewClientHandler starts a client span per RPC and writes the trace context and baggage into
// the outgoing metadata, adding the context's request ID. To bound the metadata of the answers
// as ServerOptions bounds the calls' (grpc-go's default is 16 MiB there too), add
// grpc.WithMaxHeaderListSize(grpcctx.DefaultMaxHeaderListSize), as the shop's orders service does.
//
// # What goes on the wire
//
// A gRPC hop carries traceparent, tracestate and baggage (when there are any) and x-request-id;
// the response header carries x-request-id back. x-trace-id and x-span-id, which ctxtrail's HTTP
// hops carry beside traceparent for callers that know only them, are not written on gRPC by
// default: both ends of a gRPC hop are ctxtrail or OpenTelemetry and read traceparent, and each
// metadata field costs grpc-go about five allocations at each end. A server still reads them,
// so a legacy caller that sends only x-trace-id and x-span-id joins the trace. WithXTraceHeaders
// writes them on the client and makes ServerOptions echo x-trace-id beside x-request-id, as the
// HTTP middleware does. Without it the trace ID is not echoed: the caller's own span holds it.
//
// # Spans
//
// Spans follow the RPC semantic conventions of semconv v1.43.0, as ctxtrail's HTTP spans do and
// as otelgrpc (v0.72) records them by default: named "package.Service/Method", with
// rpc.system.name "grpc", rpc.method "package.Service/Method" and rpc.response.status_code (the
// code's canonical name: "OK", "NOT_FOUND", ...), and ctxtrail.request_id
// (otelctx.AttrRequestID) as on the HTTP spans, so a request ID from a log line finds the gRPC
// hops too. A client span is an error for every code but OK; a server span only for UNKNOWN,
// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS (a caller's
// INVALID_ARGUMENT or cancellation is not the server's failure). A streaming RPC's span lasts
// until the stream ends. WithMessageEvents adds a "message" event per message sent or received.
//
// The older names (rpc.system, rpc.service, a short rpc.method, the numeric
// rpc.grpc.status_code; otelgrpc's OTEL_SEMCONV_STABILITY_OPT_IN=rpc/old) are not recorded: the
// two sets give rpc.method different values, and the request store, whose fields log lines
// carry, keeps one meaning.
//
// # Metrics
//
// Each side records the RPC's duration, rpc.server.call.duration and rpc.client.call.duration
// (histograms in seconds, with rpc.system.name, rpc.method and rpc.response.status_code), to
// the global meter provider or WithMeterProvider's (WithProvider takes the one ctxtrail.Install
// built). Recording allocates nothing but the context entry that remembers the method; a no-op
// meter provider skips it all.
//
// # Cost
//
// Per unary RPC the server handler allocates 11 times and the client handler 11 times (the
// SDK's span is 4 of each), the echo interceptor none of its own; TestAllocHandlers pins it.
// The incoming metadata is read in place, never copied. BENCHMARKS.md compares a whole round
// trip with otelgrpc's.
//
// # Why stats handlers
//
// grpc-go's stats.Handler sees every RPC, unary or streaming, from before the first byte to the
// final status, including RPCs that fail before any interceptor runs (an unknown method, a
// refused message); interceptors miss those, and need a unary and a stream variant each. Only
// the response header echo needs interceptors: a stats handler runs before the server's stream
// is in the context, so it cannot set response metadata.
package grpcctx
