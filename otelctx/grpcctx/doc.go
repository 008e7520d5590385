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
// x-trace-id, x-span-id and x-request-id from the incoming metadata through
// otelctx.MetadataCarrier, bounded exactly as HTTP headers are: a thousand traceparents,
// oversized or non-ASCII values and "-bin" keys never become a trace; they start a fresh one
// and are counted through an otelctx.WarnLimiter (WithWarnLimiter). The request ID is a safe
// incoming x-request-id or a new one, and the request store holds rpc.service and rpc.method,
// so zapbridge lines and trail reports inside a handler carry them, as they carry
// http.request.method inside an HTTP handler. WithTrustBoundary makes a public server start a
// new root trace linked to the caller's and keep only allowed baggage members.
//
// Panics are trail's business: trail.UnaryServerInterceptor and trail.StreamServerInterceptor
// (package spans/trail) turn a panic into an error report with the RPC's breadcrumbs and
// codes.Internal, and keep the server serving.
//
// # Client
//
//	conn, err := grpc.NewClient(target, grpc.WithStatsHandler(grpcctx.NewClientHandler()), ...)
//
// NewClientHandler starts a client span per RPC and writes the trace context, baggage and
// x-headers into the outgoing metadata, adding the context's request ID.
//
// # Spans
//
// Spans follow the RPC semantic conventions as gRPC instrumentation records them: named
// "package.Service/Method", with rpc.system "grpc", rpc.service, rpc.method and
// rpc.grpc.status_code. A client span is an error for every code but OK; a server span only for
// Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable and DataLoss (a caller's
// InvalidArgument or cancellation is not the server's failure). A streaming RPC's span lasts
// until the stream ends. WithMessageEvents adds a "message" event per message sent or received.
//
// # Metrics
//
// Each side records the RPC's duration, rpc.server.duration and rpc.client.duration
// (histograms in milliseconds, with rpc.system, rpc.service, rpc.method and
// rpc.grpc.status_code), to the global meter provider or WithMeterProvider's (WithProvider
// takes the one otelctx.Install built). Recording allocates nothing but the context entry
// that remembers the method; a no-op meter provider skips it all.
//
// # Why stats handlers
//
// grpc-go's stats.Handler sees every RPC, unary or streaming, from before the first byte to the
// final status, including RPCs that fail before any interceptor runs (an unknown method, a
// refused message); interceptors miss those, and need a unary and a stream variant each. Only
// the response header echo needs interceptors: a stats handler runs before the server's stream
// is in the context, so it cannot set response metadata.
package grpcctx
