#!/bin/bash
# Runs the spans benchmarks (issue 4): the hooks processor and the monitor against the bare SDK
# with a batch span processor. The test binary is built once; every config of the separate-
# process benchmarks runs as its own process, in a new random order each round, and the paired
# benchmark (the goal's measure) runs at two block lengths. Raw output goes to
# results/spans*.raw, the summary to stdout. About 3 minutes with the defaults, plus the paired
# part: PAIRED_N spans per run (both sides together), COUNT runs per block length.
# BEFORE=<git rev> also builds the spans tests of that revision and runs its paired benchmark
# in turn with this one's (before/after on the same machine, the same minutes): the raw lines
# are tagged /v=before and /v=after. PAIRED_ONLY=1 skips the separate-process benchmarks.
# BenchmarkMonitorVariants (the monitor as shipped against the same with one part changed, in
# one process) goes to results/spans-variants.raw.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-30}
run_rounds=${RUN_ROUNDS:-20}
count=${COUNT:-10}
paired_n=${PAIRED_N:-2000000x}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd ../spans && go test -c -o "$tmp/spans.test" .)
T=$tmp/spans.test
versions=after
if [ -n "${BEFORE:-}" ]; then
	mkdir "$tmp/before"
	git -C .. archive "$BEFORE" | tar -x -C "$tmp/before"
	(cd "$tmp/before/spans" && go test -c -o "$tmp/spans-before.test" .)
	versions="before after"
fi
raw=results/spans.raw run=results/spans-run.raw paired=results/spans-paired.raw
: > "$paired"
for _ in $(seq 1 "$count"); do
	for v in $(printf '%s\n' $versions | shuf); do
		bin=$T
		[ "$v" = before ] && bin=$tmp/spans-before.test
		for blk in 2048 8192; do
			"$bin" -test.run '^$' -test.bench '^BenchmarkSpanPaired$/^config=(bare|monitor|hooks\+monitor)$' \
				-spans.pairblock "$blk" -test.benchtime "$paired_n" -test.benchmem |
				sed "s/BenchmarkSpanPaired/BenchmarkSpanPaired\/v=$v\/block=$blk/" >> "$paired"
		done
		"$bin" -test.run '^$' -test.bench '^BenchmarkProcessorDirect$/^config=monitor$' -test.benchtime 200ms |
			sed "s/BenchmarkProcessorDirect/BenchmarkProcessorDirect\/v=$v/" >> "$paired"
	done
	cat /proc/loadavg
done
"$T" -test.run '^$' -test.bench '^BenchmarkMonitorVariants$' -test.benchtime "$paired_n" \
	-test.count "$count" > results/spans-variants.raw
benchstat="go run golang.org/x/perf/cmd/benchstat@latest"
$benchstat -filter .name:SpanPaired -col /v -row /block,/config "$paired"
$benchstat -filter .name:ProcessorDirect -col /v "$paired"
$benchstat results/spans-variants.raw
[ "${PAIRED_ONLY:-}" = 1 ] && exit 0
: > "$raw"; : > "$run"
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
"$T" -test.run '^$' -test.bench '^BenchmarkMonitorStats$' -test.benchmem -test.count 6 > results/spans-stats.raw
$benchstat -filter .name:Span -col '/config@(bare disabled hooks-idle monitor hooks+monitor)' "$raw"
$benchstat -filter .name:SpanParallel -col '/config@(bare disabled hooks-idle monitor hooks+monitor)' "$raw"
$benchstat -filter .name:ProcessorDirect -col '/config@(disabled hooks-idle monitor)' "$raw"
$benchstat -col '/config@(by-hand Run Run+hooks+monitor Run-provider-lookup)' "$run"
$benchstat results/spans-stats.raw
