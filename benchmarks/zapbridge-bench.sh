#!/bin/sh
# Runs the zapbridge benchmarks (issue 6): this module (plain zap, ctxtrail, contrib otelzap) and
# uptrace/ (plain zap, uptrace otelzap; a module of its own, see uptrace/uptrace_test.go).
# The two test binaries are built once and run in turns, COUNT times each, so that load on the
# machine falls on both alike. Raw output goes to results/*.raw, the summary to stdout.
# Then the goals' measure (issue 19): BenchmarkZapbridgePaired, PAIRED_COUNT runs of
# PAIRED_BENCHTIME, the baseline and the bridge in alternating blocks in one process (see
# internal/pairbench), and zapbridge's BenchmarkEnrichPaired, the same line split into its parts;
# raw output to results/zapbridge-paired.raw. PAIRED_ONLY=1 runs only these.
set -eu
cd "$(dirname "$0")"
count=${COUNT:-6}
paired_count=${PAIRED_COUNT:-6}
paired_benchtime=${PAIRED_BENCHTIME:-2s}
benchtime=${BENCHTIME:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/main.test" .
(cd uptrace && go test -c -o "$tmp/uptrace.test" .)
: > results/zapbridge-paired.raw
(cd ../zapbridge && go test -c -o "$tmp/zapbridge.test" .)
"$tmp/main.test" -test.run '^$' -test.bench '^BenchmarkZapbridgePaired$' -test.benchmem \
	-test.benchtime "$paired_benchtime" -test.count "$paired_count" >> results/zapbridge-paired.raw
"$tmp/zapbridge.test" -test.run '^$' -test.bench '^BenchmarkEnrichPaired$' \
	-test.benchtime "$paired_benchtime" -test.count "$paired_count" >> results/zapbridge-paired.raw
cat /proc/loadavg
go run golang.org/x/perf/cmd/benchstat@latest results/zapbridge-paired.raw
[ "${PAIRED_ONLY:-}" = 1 ] && exit 0
: > results/zapbridge.raw
: > results/zapbridge-uptrace.raw
i=0
while [ "$i" -lt "$count" ]; do
	"$tmp/main.test" -test.run '^$' -test.bench '^BenchmarkZapbridge(Parallel|CacheMiss)?$' -test.benchmem -test.benchtime "$benchtime" >> results/zapbridge.raw
	"$tmp/uptrace.test" -test.run '^$' -test.bench 'Zapbridge' -test.benchmem -test.benchtime "$benchtime" >> results/zapbridge-uptrace.raw
	i=$((i + 1))
done
go run golang.org/x/perf/cmd/benchstat@latest results/zapbridge.raw
go run golang.org/x/perf/cmd/benchstat@latest results/zapbridge-uptrace.raw
