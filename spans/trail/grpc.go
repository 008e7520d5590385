package trail

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor is NewHandler for gRPC: each unary RPC runs with a fresh trail (Start
// with opts) in its context, and a panic in the handler is recovered, captured (CapturePanic)
// with the RPC's breadcrumbs and recorded on the span in the context, and answered with
// codes.Internal, whose message says only "internal error" (the report holds the rest). The
// server goes on serving. Put it after ctxtrail's gRPC stats handler (otelctx/grpcctx), which
// runs before any interceptor, so the server span, the request ID and the request store are in
// the context it captures from:
//
//	srv := grpc.NewServer(append(grpcctx.ServerOptions(),
//		grpc.ChainUnaryInterceptor(trail.UnaryServerInterceptor(trail.WithSink(sink))),
//		grpc.ChainStreamInterceptor(trail.StreamServerInterceptor(trail.WithSink(sink))))...)
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	cfg := newConfig(opts)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx = start(ctx, cfg)
		defer func() {
			if v := recover(); v != nil {
				CapturePanic(ctx, v) // called here, in the deferred function, for the panic's stack
				resp, err = nil, errInternal
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming RPCs: the stream's Context
// carries the trail.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	cfg := newConfig(opts)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := start(ss.Context(), cfg)
		defer func() {
			if v := recover(); v != nil {
				CapturePanic(ctx, v)
				err = errInternal
			}
		}()
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

var errInternal = status.Error(codes.Internal, "internal error")

// serverStream hands the handler the context holding the trail.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
