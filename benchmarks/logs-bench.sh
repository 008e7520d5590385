#!/bin/sh
# Runs the issue 16 logging benchmarks (logs_test.go) once, paired in one process, and the
# requestpath comparison with the like-for-like pair (CtxtrailOTelLogs / OTelStack).
# Raw output goes to results/logs.raw; results/logs.md has the table and the verdicts.
set -eu
cd "$(dirname "$0")"
benchtime=${BENCHTIME:-200000x}
echo "# $(go version); nproc $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee results/logs.raw
go test -run '^$' -bench 'LogsPaired' -benchtime "$benchtime" . 2>&1 | tee -a results/logs.raw
