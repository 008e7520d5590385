#!/bin/sh
# Issue 10: the whole request path of one service built four ways (uninstrumented; OpenTelemetry
# SDK + otelhttp + contrib otelzap + hand-written x-request-id; ctxtrail defaults; ctxtrail with
# hooks, monitor and breadcrumbs), measured side by side in one process. See requestpath/doc.go.
#
#   1. the interleaved comparison (ABCD ABCD ...): ratios to the uninstrumented build, min /
#      median / max over the rounds -> results/requestpath-table.md; then the same for the
#      builds that sample nothing (issue 31) -> results/unsampled-table.md
#   2. Go benchmarks BenchmarkRequestPath/<variant>, COUNT times (the sub-benchmarks alternate)
#      -> results/requestpath.raw, summarised by benchstat
#   3. CPU and allocation profiles of the ctxtrail variants (top entries to stdout; PROFILE=0
#      skips them)
#
# Sizes: N requests per variant per round, ROUNDS rounds, C connections, BENCHTIME per benchmark.
set -eu
cd "$(dirname "$0")"
n=${N:-2000}
rounds=${ROUNDS:-9}
conns=${C:-8}
count=${COUNT:-6}
benchtime=${BENCHTIME:-3000x}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# $(go version); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -c -o "$tmp/requestpath.test" ./requestpath

"$tmp/requestpath.test" -test.run '^TestRequestPath$' -requestpath.n "$n" -requestpath.rounds "$rounds" \
	-requestpath.c "$conns" -requestpath.out results/requestpath-table.md > "$tmp/compare.log" 2>&1 ||
	{ cat "$tmp/compare.log"; exit 1; }
cat results/requestpath-table.md
echo "# load after the comparison: $(cut -d' ' -f1-3 /proc/loadavg)"

# Issue 31: every build sampling nothing (the SDK floors, the OTel stack, ctxtrail), interleaved.
"$tmp/requestpath.test" -test.run '^TestRequestPathUnsampled$' -requestpath.n "$n" -requestpath.rounds "$rounds" \
	-requestpath.c "$conns" -requestpath.unsampledout results/unsampled-table.md > "$tmp/unsampled.log" 2>&1 ||
	{ cat "$tmp/unsampled.log"; exit 1; }
cat results/unsampled-table.md
echo "# load after the unsampled comparison: $(cut -d' ' -f1-3 /proc/loadavg)"

"$tmp/requestpath.test" -test.run '^$' -test.bench '^BenchmarkRequestPath$' -test.benchmem \
	-test.benchtime "$benchtime" -test.count "$count" 2>/dev/null | tee results/requestpath.raw | grep -v '^Benchmark' || true
go run golang.org/x/perf/cmd/benchstat@latest -col /.name results/requestpath.raw 2>/dev/null ||
	go run golang.org/x/perf/cmd/benchstat@latest results/requestpath.raw
echo "# load after the benchmarks: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${PROFILE:-1}" != 0 ]; then
	for v in CtxtrailDefaults CtxtrailLoaded; do
		# Separate runs: a fine memory profile rate would show up in the CPU profile.
		"$tmp/requestpath.test" -test.run '^$' -test.bench "^BenchmarkRequestPath/$v\$" -test.benchtime 20000x \
			-test.cpuprofile "$tmp/$v.cpu" > /dev/null 2>&1
		"$tmp/requestpath.test" -test.run '^$' -test.bench "^BenchmarkRequestPath/$v\$" -test.benchtime 5000x \
			-test.memprofile "$tmp/$v.mem" -test.memprofilerate 512 > /dev/null 2>&1
		echo "## $v: CPU, ctxtrail and OpenTelemetry frames (cumulative)"
		go tool pprof -top -cum -nodecount 30 -focus 'ctxtrail/(otelctx|spans|zapbridge)' "$tmp/requestpath.test" "$tmp/$v.cpu" 2>/dev/null | tail -n +6
		echo "## $v: allocations by count, ctxtrail and OpenTelemetry frames"
		go tool pprof -top -sample_index alloc_objects -nodecount 30 -focus 'ctxtrail/(otelctx|spans|zapbridge)' "$tmp/requestpath.test" "$tmp/$v.mem" 2>/dev/null | tail -n +6
	done
fi
