package trailgrpc_test

import (
	"context"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailzap"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// A gRPC server whose every RPC has a trail of breadcrumbs, and whose handlers' panics become
// error reports, written by a LogSink, and codes.Internal. The interceptors come after
// grpcctx's stats handler, so reports carry the RPC's trace, request ID and method.
func Example() {
	sink := trailzap.NewLogSink(zap.NewExample())
	defer sink.Shutdown(context.Background())

	srv := grpc.NewServer(append(grpcctx.ServerOptions(),
		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(sink))),
		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(trail.WithSink(sink))))...)
	defer srv.Stop()
	// Register services and call srv.Serve(listener) here.
}
