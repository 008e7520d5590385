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
//     contract change of issue 18);
//   - stats-nop-id: stats-nop with the request-ID contract written by hand and no tracing
//     (x-request-id sent by a client interceptor, echoed by a server interceptor with
//     grpc.SetHeader): what grpc-go itself spends on the two metadata fields ctxtrail's
//     defaults put on the wire and otelgrpc does not (issue 31);
//   - ctxtrail-noecho-noid: ctxtrail's stats handlers called without a request ID, so no
//     x-request-id crosses the wire: the same wire as otelgrpc's, the handlers compared alone
//     inside a real round trip.
//   - ctxtrail-handecho: ctxtrail's stats handlers with stats-nop-id's hand-written echo
//     interceptor instead of ServerOptions' (and no header-list bound): ctxtrail's own echo
//     against the hand-written one, on the same handlers and the same wire (issue 31's
//     contract pass; ctxtrail/ctxtrail-handecho-cpu-total).
//   - floor: ctxtrail's output written by hand with every shortcut ctxtrail cannot take
//     (floor_test.go): two SDK spans with the same attributes, W3C traceparent only, no header
//     checks, x-request-id forwarded, taken unvalidated and echoed with grpc.SetHeader; and
//     floor-noecho-noid, the same without the request-ID contract (otelgrpc's wire). What the
//     goal's ratio cannot go under with the SDK and grpc-go's public API (issue 31;
//     floor/otelgrpc-cpu-overhead, ctxtrail/floor-cpu-overhead).
//
// Beside the goal's ratio (ctxtrail/otelgrpc-cpu-overhead), BenchmarkUnaryPaired reports the
// contract's floor as a share of otelgrpc's overhead (contract/otelgrpc-cpu-overhead) and
// ctxtrail's defaults above that floor against otelgrpc above stats-nop
// (ctxtrail-over-contract/otelgrpc-over-nop-cpu).
//
// BenchmarkHandlersPaired measures the client and server handlers alone (the stats events of one
// unary RPC fed to them in grpc-go's order, no transport), otelgrpc's and the floor's against
// ctxtrail's.
//
// BenchmarkUnaryPaired runs the variants in blocks, in a new random order each round, in one
// process, and reports each one's process CPU time and heap allocations per call (client and
// server together, background exporting included), so the machine's noise falls on all of
// them alike.
package grpcpath
