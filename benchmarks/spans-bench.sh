#!/bin/bash
# Runs the spans benchmarks (issue 4): the hooks processor and the monitor against the bare SDK
# with a batch span processor. The test binary is built once; every config of the separate-
# process benchmarks runs as its own process, in a new random order each round, and the paired
# benchmark (the goal's measure) runs at two block lengths. Raw output goes to
# results/spans*.raw, the summary to stdout. About 3 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-30}
run_rounds=${RUN_ROUNDS:-20}
count=${COUNT:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd ../spans && go test -c -o "$tmp/spans.test" .)
T=$tmp/spans.test
raw=results/spans.raw run=results/spans-run.raw paired=results/spans-paired.raw
: > "$raw"; : > "$run"; : > "$paired"
for _ in $(seq 1 "$rounds"); do
	for c in $(printf '%s\n' bare disabled hooks-idle monitor hooks+monitor | shuf); do
		"$T" -test.run '^$' -test.bench "^BenchmarkSpan(Parallel)?\$/^config=${c/+/\\+}\$" \
			-test.benchtime 100ms -test.benchmem >> "$raw"
	done
	for c in $(printf '%s\n' disabled hooks-idle monitor | shuf); do
		"$T" -test.run '^$' -test.bench "^BenchmarkProcessorDirect\$/^config=$c\$" \
			-test.benchtime 100ms -test.benchmem >> "$raw"
	done
done
for _ in $(seq 1 "$run_rounds"); do
	for c in $(printf '%s\n' by-hand Run Run+hooks+monitor Run-provider-lookup | shuf); do
		"$T" -test.run '^$' -test.bench "^BenchmarkRun\$/^config=${c//+/\\+}\$" \
			-test.benchtime 100ms -test.benchmem >> "$run"
	done
done
for blk in 512 8192; do
	"$T" -test.run '^$' -test.bench '^BenchmarkSpanPaired$' -spans.pairblock "$blk" \
		-test.benchtime 400000x -test.count "$count" -test.benchmem |
		sed "s/BenchmarkSpanPaired/BenchmarkSpanPaired\/block=$blk/" >> "$paired"
done
"$T" -test.run '^$' -test.bench '^BenchmarkMonitorStats$' -test.benchmem -test.count 6 > results/spans-stats.raw
benchstat="go run golang.org/x/perf/cmd/benchstat@latest"
$benchstat -col /config "$paired"
$benchstat -filter .name:Span -col '/config@(bare disabled hooks-idle monitor hooks+monitor)' "$raw"
$benchstat -filter .name:SpanParallel -col '/config@(bare disabled hooks-idle monitor hooks+monitor)' "$raw"
$benchstat -filter .name:ProcessorDirect -col '/config@(disabled hooks-idle monitor)' "$raw"
$benchstat -col '/config@(by-hand Run Run+hooks+monitor Run-provider-lookup)' "$run"
$benchstat results/spans-stats.raw
