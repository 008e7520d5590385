// Package reliability holds ctxtrail's whole-stack reliability tests: context isolation under
// load, exporter faults, graceful shutdown and hostile clients. Its only non-test code is
// Collector, a fake OTLP/HTTP collector on loopback that can be switched between healthy and
// faulty answers.
//
// # Running
//
// The tests run at a CI size with go test. The full-size load test (100,000 requests at 256
// concurrency) runs with the -reliability.full flag or CTXTRAIL_RELIABILITY_FULL=1; see
// scripts/reliability.sh and RELIABILITY.md.
//
// # Collector
//
// Collector answers OTLP/HTTP exports on 127.0.0.1 as Healthy (spans decoded and counted),
// Unavailable (503 with Retry-After), Hang (no answer until the client gives up) or HugeBody
// (a 5 MiB body). RefusedURL gives an address where the connection is refused.
package reliability
