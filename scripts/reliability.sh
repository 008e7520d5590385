#!/usr/bin/env bash
# Full-size reliability run (issue 9): 100,000 requests at 256 concurrency through two services,
# the exporter faults at 20,000 × 256, hostile clients and SIGTERM under load. Prints the RESULT
# lines RELIABILITY.md's table is made from. The CI run is plain `go test ./internal/reliability/`.
set -euo pipefail
cd "$(dirname "$0")/.."
go version
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
go test -count=1 -timeout 30m -v ./internal/reliability/ -args -reliability.full 2>&1 |
	tee "${RELIABILITY_LOG:-/tmp/reliability-full.log}" | grep -E 'RESULT|^(--- |ok|FAIL|PASS)'
