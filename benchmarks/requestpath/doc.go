// Package requestpath measures the whole request path of one HTTP service built six ways, side
// by side in one process: with no instrumentation, with the stack a user would wire by hand
// (the OpenTelemetry SDK, otelhttp, the contrib otelzap bridge and a hand-written x-request-id
// middleware), with ctxtrail's defaults, with ctxtrail fully loaded (lifecycle hooks, the span
// monitor and breadcrumbs), and with ctxtrail's defaults sending every log line to
// OpenTelemetry's logs signal too, as the hand-wired stack's otelzap bridge does (the
// like-for-like match of that stack), and the floor under every build that uses the SDK's span
// pipeline (SDKFloor: the same five spans without attributes, traceparent and the request ID
// glue, plain log lines), so that what each stack adds above that floor can be told apart from
// what the SDK itself costs.
//
// # The service
//
// Every variant serves the same front handler. Per request it
//
//  1. extracts the incoming headers and starts the server span (its middleware);
//  2. runs two steps, each under a child span, each writing one log line;
//  3. calls a downstream service on loopback with the trace headers and x-request-id injected,
//     and writes a third log line;
//  4. answers "ok " followed by the request ID the downstream service saw.
//
// The downstream service is wrapped in the same middleware as the front one, so a request
// makes five spans: front server, two children, client, downstream server. Every variant
// exports through a batch span processor to the same exporter, one that counts spans and drops
// them (see WithExporter), and logs with zap's production JSON encoder into io.Discard (see
// WithLogWriter). The uninstrumented variant writes the same three lines and makes the same
// call, without spans or headers.
//
// # The comparison
//
// Compare starts all the services and drives them with a bounded, keep-alive load generator
// (a fixed number of requests per run, a time cap, loopback only), interleaved in rounds (ABCD
// ABCD ...) so that noise on the machine falls on every variant alike. Each run records
// requests per second, p50 and p99 latency, process CPU time per request (getrusage: both
// services, the load generator and the exporters' goroutines) and heap allocations per request
// (runtime/metrics); each is reported as a ratio to the uninstrumented variant of the same
// round, with the minimum, median and maximum over the rounds (Comparison.Markdown).
//
// # Sampling
//
// The same builds with head sampling (TraceIDRatioBased, both services deciding alike) are
// compared in TestRequestPathSampling (ctxtrail and the OTel stack at 0 %, 1 %, 10 % and 100 %)
// and TestRequestPathUnsampled (sampling nothing: ctxtrail, the OTel stack, SDKFloorUnsampled
// and SemconvFloorUnsampled, the floors of a build without and with ctxtrail's output).
//
// # Running it
//
// From the benchmarks module:
//
//	go test ./requestpath -run TestRequestPath -requestpath.n 2000 -requestpath.rounds 9 -requestpath.out table.md
//	go test ./requestpath -run '^$' -bench RequestPath -count 6 | benchstat -
//
// requestpath.sh next to this package runs both and profiles the ctxtrail variants.
package requestpath
