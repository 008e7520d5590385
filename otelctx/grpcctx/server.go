package grpcctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/baggage"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// incomingKeys are the metadata keys ExtractIncoming reads.
var incomingKeys = [...]string{"traceparent", "tracestate", "baggage",
	otelctx.HeaderTraceID, otelctx.HeaderSpanID, otelctx.HeaderRequestID}

// ServerOptions returns what a grpc.Server needs for ctxtrail: the server stats handler
// (NewServerHandler) and the unary and stream interceptors that echo the request ID in the
// response header metadata (see UnaryServerInterceptor):
//
//	srv := grpc.NewServer(grpcctx.ServerOptions()...)
func ServerOptions(opts ...Option) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StatsHandler(NewServerHandler(opts...)),
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(StreamServerInterceptor()),
	}
}

// NewServerHandler returns a grpc stats.Handler (install it with grpc.StatsHandler) that does
// for each RPC what otelctx.NewHandler does for an HTTP request:
//
//  1. reads traceparent, tracestate, baggage, x-trace-id, x-span-id and x-request-id from the
//     incoming metadata through otelctx.MetadataCarrier and otelctx.ExtractIncoming: bounded,
//     bad values counted through the WarnLimiter, a fresh trace when the trace headers are bad;
//  2. starts a server span named "package.Service/Method" with rpc.system, rpc.service and
//     rpc.method: a child of the caller's span, or at a trust boundary (WithTrustBoundary) a
//     new root linked to it, with the baggage cut to the allowlist and a request ID of its own
//     (the caller's kept as otelctx.AttrCallerRequestID);
//  3. puts the request store in the context: the request ID (a safe incoming x-request-id or a
//     new one) and the fields rpc.service and rpc.method;
//  4. ends the span when the RPC ends (for a stream, when the handler returns), with
//     rpc.grpc.status_code; Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable
//     and DataLoss mark it as an error, as the RPC conventions ask of a server.
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
	// Only the keys ctxtrail reads are copied out of the incoming metadata, not the whole of it.
	var md otelctx.MetadataCarrier
	for _, k := range incomingKeys {
		if vs := metadata.ValueFromIncomingContext(ctx, k); len(vs) > 0 {
			if md == nil {
				md = make(otelctx.MetadataCarrier, len(incomingKeys))
			}
			md[k] = vs
		}
	}
	ctx, id := otelctx.ExtractIncoming(ctx, h.cfg.prop, md, h.cfg.warn)

	m := h.methods.get(info.FullMethodName)
	spanOpts := m.opts
	public := h.cfg.public != nil && h.cfg.public(ctx, info.FullMethodName)
	if public {
		spanOpts = append(spanOpts[:len(spanOpts):len(spanOpts)], trace.WithNewRoot())
		if link, ok := otelctx.TrustBoundaryLink(ctx); ok {
			spanOpts = append(spanOpts, trace.WithLinks(link))
		}
		ctx = baggage.Restrict(ctx, h.cfg.allowBaggage)
	}
	ctx, span := h.tracer.Start(ctx, m.name, spanOpts...)
	if public && !h.cfg.trustRequestID {
		ctx, _ = otelctx.TrustBoundaryRequestID(ctx, id, md, span)
	}
	ctx = otelctx.AddFields(ctx, m.fields[:]...)
	ctx = h.withMethod(ctx, m)
	if h.cfg.messageEvents {
		ctx = context.WithValue(ctx, messagesKey{}, new(messages))
	}
	return ctx
}

// UnaryServerInterceptor returns an interceptor that sets x-request-id in the response header
// metadata, from the request ID NewServerHandler put in the context, before the handler runs:
// the caller can quote it whatever the handler answers. (The trace ID is not echoed: every
// header field costs grpc-go several allocations at each end, and the caller's own span
// already knows the trace.)
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		echoRequestID(ctx)
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming RPCs.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		echoRequestID(ss.Context())
		return handler(srv, ss)
	}
}

// echoRequestID sets the response header metadata. The request ID is safe to send: one
// ValidRequestID accepts, or a new one.
func echoRequestID(ctx context.Context) {
	id := otelctx.RequestID(ctx)
	if !otelctx.ValidRequestID(id) {
		return
	}
	// SetHeader fails only when the headers are gone already: nothing to do then.
	_ = grpc.SetHeader(ctx, metadata.MD{otelctx.HeaderRequestID: []string{id}})
}
