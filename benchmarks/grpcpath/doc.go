// Package grpcpath measures a unary gRPC round trip over loopback TCP with ctxtrail's
// otelctx/grpcctx beside go.opentelemetry.io/contrib/.../otelgrpc and beside no
// instrumentation (issue 18). Every instrumented variant uses the same SDK TracerProvider,
// sampler (always on) and exporter (a batch processor to an exporter that counts and drops):
//
//   - bare: no stats handler;
//   - otelgrpc: otelgrpc's server and client stats handlers, W3C tracecontext + baggage, the
//     no-op meter provider (no metrics are recorded by ctxtrail either);
//   - ctxtrail: grpcctx.ServerOptions (stats handler + the interceptors that echo x-request-id)
//     and grpcctx.NewClientHandler, with otelctx.NewPropagator (W3C + x-headers) and the no-op
//     meter provider;
//   - ctxtrail-handler: grpcctx's stats handlers alone, without the echo interceptors;
//   - ctxtrail-w3c: ServerOptions with a W3C-only propagator;
//   - ctxtrail-lean: the stats handlers alone with a W3C-only propagator.
//
// BenchmarkUnaryPaired runs the variants in blocks, in a new random order each round, in one
// process, and reports each one's process CPU time and heap allocations per call (client and
// server together, background exporting included), so the machine's noise falls on all of
// them alike.
package grpcpath
