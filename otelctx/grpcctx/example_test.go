package grpcctx_test

import (
	"context"
	"fmt"
	"net"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// A server and a client on loopback, both with ctxtrail: the caller's trace and request ID
// reach the server (its span is the caller's child), which echoes the request ID in its
// response header metadata.
func Example() {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	opts := []grpcctx.Option{grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New())}

	srv := grpc.NewServer(grpcctx.ServerOptions(opts...)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(grpcctx.NewClientHandler(opts...)))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	ctx, span := tp.Tracer("example").Start(context.Background(), "checkout")
	defer span.End()
	ctx = otelctx.WithRequestID(ctx, "req-1")
	var header metadata.MD
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.GetStatus())
	fmt.Println("x-request-id:", header.Get("x-request-id")[0])
	// Output:
	// SERVING
	// x-request-id: req-1
}
