#!/bin/bash
# Runs the gRPC benchmarks (issue 18): a unary round trip over loopback with ctxtrail's
# otelctx/grpcctx, otelgrpc and no instrumentation, interleaved in one process
# (BenchmarkUnaryPaired, the goal's measure), then each variant alone with -benchmem
# (BenchmarkUnary), then the client and server handlers alone, without the transport
# (BenchmarkHandlersPaired). Raw output goes to results/grpc*.raw. A few minutes with the
# defaults.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-40}
count=${COUNT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/grpcpath.test" ./grpcpath
T=$tmp/grpcpath.test
"$T" -test.run '^$' -test.bench '^BenchmarkUnaryPaired$' -test.benchtime "${rounds}x" -test.count "$count" | tee results/grpc-paired.raw
"$T" -test.run '^$' -test.bench '^BenchmarkUnary$' -test.benchtime 3000x -test.count "$count" -test.benchmem | tee results/grpc.raw
"$T" -test.run '^$' -test.bench '^BenchmarkHandlersPaired$' -test.benchtime "${rounds}x" -test.count "$count" | tee results/grpc-handlers.raw
