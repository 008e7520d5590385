#!/bin/sh
# Runs the issue 16 logging benchmarks (logs_test.go) COUNT times (default 3: the machine is
# shared, so results/logs.md gives the range), each comparison paired in one process.
# Raw output goes to results/logs.raw; results/logs.md has the table and the verdicts.
# The requestpath like-for-like pair (CtxtrailOTelLogs / OTelStack) has its own command there.
set -eu
cd "$(dirname "$0")"
benchtime=${BENCHTIME:-200000x}
count=${COUNT:-3}
echo "# $(go version); nproc $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee results/logs.raw
go test -run '^$' -bench 'LogsPaired' -benchtime "$benchtime" -count "$count" . 2>&1 | tee -a results/logs.raw
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a results/logs.raw
