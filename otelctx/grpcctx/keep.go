package grpcctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/keepsignal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// MetadataKeep is the response trailer ServerOptions' interceptors set, with the value "1",
// when the in-process capture (package spans/keep) keeps the server's part of a trace the head
// did not sample; the client handler reads it (or the same key in the response header) and
// keeps the caller's part too. Only ctxtrail's capture sets or reads it.
const MetadataKeep = keepsignal.Header

// WithoutKeepSignal makes the client handler ignore MetadataKeep: use it for connections to
// services outside your trust boundary. A server at a trust boundary (WithTrustBoundary) never
// sends it.
func WithoutKeepSignal() Option {
	return optionFunc(func(c config) config { c.noKeepSignal = true; return c })
}

// keepServer is the server's part of the keep signal: after the handler returns, the trailer
// says whether the capture keeps the trace, never across the trust boundary.
type keepServer struct {
	public func(ctx context.Context, fullMethod string) bool
}

func newKeepServer(opts []Option) keepServer {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return keepServer{public: c.public}
}

// failed reports whether err makes the server span an error, as endSpan decides.
func failed(err error) bool { return err != nil && serverError(statusOf(err).Code()) }

// respond reports whether the call's trailer carries MetadataKeep: the capture keeps the trace
// of the server span in ctx, and the caller is not across the trust boundary.
func (k keepServer) respond(ctx context.Context, fullMethod string, err error) bool {
	if !keepsignal.Active() || (k.public != nil && k.public(ctx, fullMethod)) {
		return false
	}
	return keepsignal.Respond(trace.SpanContextFromContext(ctx), failed(err))
}

var keepTrailer = metadata.MD{keepsignal.Header: {keepsignal.Value}} // grpc-go copies what it is given

// unary sets the trailer of a unary call.
func (k keepServer) unary(ctx context.Context, info *grpc.UnaryServerInfo, err error) {
	var method string
	if info != nil {
		method = info.FullMethod
	}
	if k.respond(ctx, method, err) {
		_ = grpc.SetTrailer(ctx, keepTrailer) // fails only when the stream is gone: nobody to tell
	}
}

// stream sets the trailer of a streaming call.
func (k keepServer) stream(ss grpc.ServerStream, info *grpc.StreamServerInfo, err error) {
	var method string
	if info != nil {
		method = info.FullMethod
	}
	if k.respond(ss.Context(), method, err) {
		ss.SetTrailer(keepTrailer)
	}
}

// HandleRPC reads the keep signal from the response header and trailer, then does what every
// handler does.
func (h *clientHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if !h.cfg.noKeepSignal && keepsignal.Active() {
		switch rs := rs.(type) {
		case *stats.InHeader:
			h.keepSignal(ctx, rs.Header)
		case *stats.InTrailer:
			h.keepSignal(ctx, rs.Trailer)
		}
	}
	h.rpcHandler.HandleRPC(ctx, rs)
}

func (h *clientHandler) keepSignal(ctx context.Context, md metadata.MD) {
	vs := md[keepsignal.Header]
	if len(vs) == 0 {
		return
	}
	span := trace.SpanFromContext(ctx)
	if keepsignal.Received(span.SpanContext(), vs) {
		span.SetAttributes(attribute.Bool(keepsignal.AttrCalleeKept, true))
	}
}
