package grpcctx

import (
	"context"
	"strings"
	"sync"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"github.com/ctxtrail/ctxtrail/internal/ctxkey"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// incomingKeys are the metadata keys the incoming step (wire.Server.Extract) reads.
var incomingKeys = [...]string{"traceparent", "tracestate", "baggage",
	propagators.HeaderTraceID, propagators.HeaderSpanID, propagators.HeaderRequestID}

// DefaultMaxHeaderListSize is the bound ServerOptions puts on the metadata of one call, in
// bytes as HTTP/2 counts them (names, values and 32 bytes per field, uncompressed): 64 KiB, what
// ctxtrail's HTTP examples give net/http's MaxHeaderBytes. It holds every trace header ctxtrail
// reads at its W3C limit (baggage 8 KiB, tracestate about 16 KiB, traceparent and the
// x-headers) with room for auth. grpc-go's own default is 16 MiB, which lets each caller make
// the server hold megabytes per call.
const DefaultMaxHeaderListSize = 64 << 10

// ServerOptions returns what a grpc.Server needs for ctxtrail: the server stats handler
// (NewServerHandler), the unary and stream interceptors that echo the request ID in the
// response header metadata (see UnaryServerInterceptor), and
// grpc.MaxHeaderListSize(DefaultMaxHeaderListSize):
//
//	srv := grpc.NewServer(grpcctx.ServerOptions()...)
//
// The server advertises the bound, so a grpc-go client refuses to send a call over it
// (codes.Internal, "header list size to send violates the maximum size"); a call that comes
// anyway is dropped (grpc-go resets the stream, or closes a connection that keeps sending)
// before any handler runs. To allow more, put grpc.MaxHeaderListSize after ServerOptions'
// options: grpc-go applies them in order, the last one wins.
func ServerOptions(opts ...Option) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxHeaderListSize(DefaultMaxHeaderListSize),
		grpc.StatsHandler(NewServerHandler(opts...)),
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(opts...)),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(opts...)),
	}
}

// NewServerHandler returns a grpc stats.Handler (install it with grpc.StatsHandler) that does
// for each RPC what httpctx.NewHandler does for an HTTP request:
//
//  1. reads traceparent, tracestate, baggage, x-trace-id, x-span-id and x-request-id from the
//     incoming metadata exactly as httpctx.NewHandler reads HTTP headers: bounded, bad values
//     counted through the WarnLimiter, a fresh trace when the trace headers are bad;
//  2. starts a server span named "package.Service/Method" with rpc.system.name, rpc.method
//     and otelctx.AttrRequestID (see the package documentation): a child of the caller's span, or at a trust
//     boundary (WithTrustBoundary) a new root linked to it, with the baggage cut to the
//     allowlist and a request ID of its own (the caller's kept as otelctx.AttrCallerRequestID);
//  3. puts the request store in the context: the request ID (a safe incoming x-request-id or a
//     new one) and the field rpc.method;
//  4. ends the span when the RPC ends (for a stream, when the handler returns), with
//     rpc.response.status_code; UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
//     UNAVAILABLE and DATA_LOSS mark it as an error, as the RPC conventions ask of a server.
//
// A stats handler runs before the response stream exists in the context, so it cannot set
// response metadata: the interceptors of ServerOptions echo x-request-id.
// It starts no goroutine.
func NewServerHandler(opts ...Option) stats.Handler {
	c := newConfig(opts)
	return &serverHandler{newRPCHandler(c, trace.SpanKindServer)}
}

type serverHandler struct{ rpcHandler }

var _ stats.Handler = (*serverHandler)(nil)

// TagRPC extracts the incoming context and starts the server span.
func (h *serverHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	md := incomingMetadata(ctx, h.cfg.prop)
	public := h.cfg.public != nil && h.cfg.public(ctx, info.FullMethodName)
	in := h.cfg.incoming.Extract(ctx, md, md.Fields(), public, false)
	id := in.RequestID
	m := h.methods.get(info.FullMethodName)
	// The request ID, the store (rpc.method, and at a trust boundary the caller's request ID)
	// and the method for HandleRPC, in one node (servernode.go) that the span starts under.
	n := h.newServerRPC(in.Context, m, id, in.Caller)
	spanOpts := m.opts
	if public {
		spanOpts = append(spanOpts[:len(spanOpts):len(spanOpts)], trace.WithNewRoot())
		if in.Linked {
			spanOpts = append(spanOpts, trace.WithLinks(in.Link))
		}
	}
	ctx, span := h.tracer.Start(n, m.name, spanOpts...)
	// After the start attributes, so the span's attribute slice grows once, with room for
	// rpc.response.status_code at the end; from the node, so the call allocates no slice.
	span.SetAttributes(n.spanAttrs()...)
	return ctx
}

// incomingMetadata returns the incoming metadata of ctx for reading. grpc-go's accessors copy
// it (ValueFromIncomingContext copies the values of a key, FromIncomingContext the whole of
// it); the handler only reads it, so it reads the metadata in place when it can
// (incomingKey), else copies out the keys it reads: ctxtrail's (incomingKeys) and those prop
// lists in Fields, so that a propagator reading other headers (b3, say) sees on both paths
// what the caller sent. The carrier is read-only: grpc-go's metadata is never written to.
func incomingMetadata(ctx context.Context, prop propagation.TextMapPropagator) wire.Metadata {
	if incomingKey != nil {
		md, _ := ctx.Value(incomingKey).(metadata.MD)
		return wire.ReadMetadata(md)
	}
	var md metadata.MD
	copyKey := func(k string) {
		if _, done := md[k]; done {
			return
		}
		if vs := metadata.ValueFromIncomingContext(ctx, k); len(vs) > 0 {
			if md == nil {
				md = make(metadata.MD, len(incomingKeys))
			}
			md[k] = vs
		}
	}
	for _, k := range incomingKeys {
		copyKey(k)
	}
	if prop != nil {
		for _, k := range prop.Fields() {
			copyKey(strings.ToLower(k))
		}
	}
	return wire.ReadMetadata(md)
}

// incomingKey is the context key under which grpc-go keeps the incoming metadata, learnt by
// asking metadata.ValueFromIncomingContext to look in a context that notes the key it is asked
// for, and checked against metadata.NewIncomingContext; nil (copy, as the accessors do) if
// grpc-go ever stores it differently.
var incomingKey = func() any {
	key := ctxkey.Learn(func(ctx context.Context) { _ = metadata.ValueFromIncomingContext(ctx, "k") })
	if key == nil {
		return nil
	}
	want := metadata.MD{"k": {"v"}}
	md, ok := metadata.NewIncomingContext(context.Background(), want).Value(key).(metadata.MD)
	if !ok || len(md) != 1 || len(md["k"]) != 1 || &md["k"][0] != &want["k"][0] {
		return nil
	}
	return key
}()

// UnaryServerInterceptor returns an interceptor that sets x-request-id in the response header
// metadata, from the request ID NewServerHandler put in the context, before the handler runs:
// the caller can quote it whatever the handler answers. With WithXTraceHeaders it sets
// x-trace-id, the server span's trace ID, too, as otelctx's HTTP middleware does; without, the
// trace ID is not echoed: every header field costs grpc-go several allocations at each end, and
// the caller's own span already knows the trace. After the handler returns it sets the
// MetadataKeep trailer when the in-process capture keeps the call's trace (keep.go), except at
// a trust boundary. Other options are ignored.
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	xTrace := newEchoConfig(opts)
	keep := newKeepServer(opts) // keep.go
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		echo(ctx, xTrace)
		resp, err := handler(ctx, req)
		keep.unary(ctx, info, err)
		return resp, err
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming RPCs.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	xTrace := newEchoConfig(opts)
	keep := newKeepServer(opts) // keep.go
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		echo(ss.Context(), xTrace)
		err := handler(srv, ss)
		keep.stream(ss, info, err)
		return err
	}
}

// newEchoConfig reads the one option the interceptors use, without newConfig's defaults.
func newEchoConfig(opts []Option) (xTrace bool) {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c.xTrace
}

// echo sets the response header metadata: x-request-id (safe to send: one ValidRequestID
// accepts, or a new one) and, with xTrace, x-trace-id. The metadata handed to grpc.SetHeader
// comes from echoPool: every SetHeader in grpc-go merges it into the stream's header with
// metadata.Join, which copies keys and values, so it can be reused once SetHeader returns.
func echo(ctx context.Context, xTrace bool) {
	id := otelctx.RequestID(ctx)
	if !otelctx.ValidRequestID(id) {
		id = ""
	}
	var tid string
	if xTrace {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			tid = sc.TraceID().String()
		}
	}
	if id == "" && tid == "" {
		return
	}
	e := echoPool.Get().(*echoMD)
	if id != "" {
		e.vals[0] = id
		e.md[propagators.HeaderRequestID] = e.vals[0:1:1]
	}
	if tid != "" {
		e.vals[1] = tid
		e.md[propagators.HeaderTraceID] = e.vals[1:2:2]
	}
	// SetHeader fails only when the headers are gone already: nothing to do then.
	_ = grpc.SetHeader(ctx, e.md)
	clear(e.md)
	e.vals = [2]string{}
	echoPool.Put(e)
}

// echoMD is the response header metadata echo sends, kept for reuse.
type echoMD struct {
	md   metadata.MD
	vals [2]string
}

var echoPool = sync.Pool{New: func() any { return &echoMD{md: make(metadata.MD, 2)} }}
