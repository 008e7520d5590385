// Package grpcpath measures a unary gRPC round trip over loopback TCP with ctxtrail's
// otelctx/grpcctx beside go.opentelemetry.io/contrib/.../otelgrpc and beside no
// instrumentation (issue 18). Every instrumented variant uses the same SDK TracerProvider,
// sampler (always on) and exporter (a batch processor to an exporter that counts and drops):
//
//   - bare: no stats handler;
//   - stats-nop: a stats handler on each side that does nothing (grpc-go's own cost of having
//     one, which every instrumented variant pays);
//   - otelgrpc: otelgrpc's server and client stats handlers, W3C tracecontext + baggage, the
//     no-op meter provider (no metrics are recorded by ctxtrail either);
//   - ctxtrail: grpcctx.ServerOptions (stats handler + the interceptors that echo x-request-id)
//     and grpcctx.NewClientHandler, with propagators.New (Install's default) and the
//     no-op meter provider: traceparent and x-request-id on the request, x-request-id echoed;
//   - ctxtrail-noecho: grpcctx's stats handlers alone, without the echo interceptors;
//   - ctxtrail-xtrace: ctxtrail WithXTraceHeaders: x-trace-id and x-span-id on the request too,
//     x-trace-id echoed too (the wire of ctxtrail's HTTP hops, and its gRPC default before the
//     contract change of issue 18).
//
// BenchmarkHandlersPaired measures the client and server handlers alone (the stats events of one
// unary RPC fed to them in grpc-go's order, no transport), otelgrpc's against ctxtrail's.
//
// BenchmarkUnaryPaired runs the variants in blocks, in a new random order each round, in one
// process, and reports each one's process CPU time and heap allocations per call (client and
// server together, background exporting included), so the machine's noise falls on all of
// them alike.
package grpcpath
