#!/bin/sh
# Runs the zapbridge benchmarks (issue 6): this module (plain zap, ctxtrail, contrib otelzap) and
# uptrace/ (plain zap, uptrace otelzap; a module of its own, see uptrace/uptrace_test.go).
# The two test binaries are built once and run in turns, COUNT times each, so that load on the
# machine falls on both alike. Raw output goes to results/*.raw, the summary to stdout.
set -eu
cd "$(dirname "$0")"
count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/main.test" .
(cd uptrace && go test -c -o "$tmp/uptrace.test" .)
: > results/zapbridge.raw
: > results/zapbridge-uptrace.raw
i=0
while [ "$i" -lt "$count" ]; do
	"$tmp/main.test" -test.run '^$' -test.bench 'Zapbridge' -test.benchmem -test.benchtime "$benchtime" >> results/zapbridge.raw
	"$tmp/uptrace.test" -test.run '^$' -test.bench 'Zapbridge' -test.benchmem -test.benchtime "$benchtime" >> results/zapbridge-uptrace.raw
	i=$((i + 1))
done
go run golang.org/x/perf/cmd/benchstat@latest results/zapbridge.raw
go run golang.org/x/perf/cmd/benchstat@latest results/zapbridge-uptrace.raw
