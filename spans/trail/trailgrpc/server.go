package trailgrpc

import (
	"context"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor is trail.NewHandler for gRPC: each unary RPC runs with a fresh trail
// (trail.Start with opts) in its context, and a panic in the handler is recovered, captured
// (trail.CapturePanic) with the RPC's breadcrumbs and recorded on the span in the context, and
// answered with codes.Internal, whose message says only "internal error" (the report holds the
// rest). The server goes on serving. Put it after ctxtrail's gRPC stats handler
// (otelctx/grpcctx), which runs before any interceptor, so the server span, the request ID and
// the request store are in the context it captures from:
//
//	srv := grpc.NewServer(append(grpcctx.ServerOptions(),
//		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(sink))),
//		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(trail.WithSink(sink))))...)
func UnaryServerInterceptor(opts ...trail.Option) grpc.UnaryServerInterceptor {
	opts = withDefaultKeys(opts)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx = trail.Start(ctx, opts...)
		defer func() {
			if v := recover(); v != nil {
				trail.CapturePanic(ctx, v) // called here, in the deferred function, for the panic's stack
				resp, err = nil, errInternal
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming RPCs: the stream's Context
// carries the trail.
func StreamServerInterceptor(opts ...trail.Option) grpc.StreamServerInterceptor {
	opts = withDefaultKeys(opts)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := trail.Start(ss.Context(), opts...)
		defer func() {
			if v := recover(); v != nil {
				trail.CapturePanic(ctx, v)
				err = errInternal
			}
		}()
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

// withDefaultKeys puts trail.DefaultFieldKeys first, as an option built once, so that
// trail.Start does not build that list again for every RPC; a WithFieldKeys in opts still
// replaces it.
func withDefaultKeys(opts []trail.Option) []trail.Option {
	return append([]trail.Option{trail.WithFieldKeys(trail.DefaultFieldKeys()...)}, opts...)
}

var errInternal = status.Error(codes.Internal, "internal error")

// serverStream hands the handler the context holding the trail.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
