// Package trailgrpc is spans/trail for gRPC servers: interceptors that give each RPC a fresh
// trail of breadcrumbs and turn a panic in a handler into an error report and codes.Internal,
// as trail.NewHandler does for HTTP. It is a package of its own so that trail, and every user
// of its HTTP middleware or of Capture, does not compile google.golang.org/grpc.
//
// # Setup
//
// Install the interceptors after ctxtrail's gRPC stats handler (otelctx/grpcctx), which runs
// before any interceptor, so that the server span, the request ID and the request store
// (rpc.method among its fields) are in the context a report is captured from:
//
//	sink := trailzap.NewLogSink(logger)
//	defer sink.Shutdown(context.Background())
//	srv := grpc.NewServer(append(grpcctx.ServerOptions(),
//		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(sink))),
//		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(trail.WithSink(sink))))...)
//
// The interceptors take trail's options (trail.Option): the trail's bounds, its filter, the
// fields a report copies and the sink. Inside a handler, trail.AddBreadcrumb and trail.Capture
// work with the RPC's context exactly as with an HTTP request's.
//
// # Panics
//
// A panic in a unary or streaming handler is recovered, captured with trail.CapturePanic (the
// report's stack is the panic's) and recorded on the span in the context; the client gets
// codes.Internal with the message "internal error" and nothing more, and the server goes on
// serving.
//
// # Goroutines
//
// The package starts none.
package trailgrpc
