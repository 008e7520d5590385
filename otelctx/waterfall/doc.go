// Package waterfall draws traces in the terminal, and is the exporter that does it live.
//
// # Seeing a trace
//
// A Printer receives a process's spans as they end and, once a trace's local root span ends
// (the server span of a request, or a span started without a parent), writes the trace as a
// tree: service, span name nested under its parent, a bar for when and how long each span ran,
// ✗ and the reason on spans that failed, then the log lines logged in it:
//
//	trace 4bf92f3577b34da6a3ce929d0e0e4736  4 spans  2.1ms  1 error
//	  frontend  GET /checkout       |████████████████████████████████████████|    2.1ms
//	  frontend    └ POST            |  ████████████████████████████████      |    1.7ms  ✗ 402 Payment Required
//	  orders        └ POST /orders  |   ████████████████████████████         |    1.5ms
//	  orders          └ charge      |      █████████████████████             |    1.1ms  ✗ card declined
//	      +1.2ms  orders    warn   charge declined  cents=1500
//
// Choose it with OTEL_TRACES_EXPORTER=ctxtrail-waterfall or ctxtrail.WithWaterfall; it writes to
// standard output, or to ctxtrail.WithWriter's writer. New builds one by hand, for instance to
// share it between several services of one process, which then draw as one trace.
//
// # One process's view
//
// A Printer draws the spans of its own process: those of the tracer providers it serves. When a
// request comes from another process, with a traceparent, the trace is drawn from this process's
// server span down, and that span is marked "(parent missing)": its parent is the caller's
// client span, which only the caller's process holds. The trace prints as soon as the server
// span ends; nothing waits for the caller's part. Services that run in one process and share one
// Printer (New, then ctxtrail.WithWaterfall with it for each) draw as one trace.
//
// To see a trace across processes, send every service's spans to a tool that joins them: Jaeger
// (OTLP; the repository's docker-compose.yml runs it), where a trace is found by the ID that each
// response carries in x-trace-id, or, in the terminal, examples/traceview, which draws the whole
// trace from Jaeger's query API (traceview -jaeger http://localhost:16686 <trace-id>) or from the
// console exporter's JSON lines of several services read together (traceview a.jsonl b.jsonl).
//
// # Log lines
//
// zapbridge.WithWaterfall (and slogbridge's option of the same name) hand every line logged in
// a span's context to Printer.Log, so each trace is printed with its own request's lines and
// no other's. Any other logger can do the same: Log takes a Line with the trace and span IDs.
//
// # Bounds
//
// The request path only queues: OnEnd and Log never block, and drop (and count) what does not
// fit in the queue. Traces waiting for their root, spans and lines per trace are capped; a trace
// whose root has not ended after WithMaxAge is printed as it is, marked incomplete, so a hung
// request shows up instead of filling memory. Spans that end after their trace was printed (a
// task that outlived its request) get a one-line "late" notice. Stats counts all of it, and a
// line on the output reports drops since the last such line.
//
// # Drawing spans from elsewhere
//
// Render and RenderTrace draw spans from any source: SpanOf converts the SDK's, and
// examples/traceview reads the console exporter's JSON lines and Jaeger's API into Span values.
//
// # In a browser
//
// RenderHTML draws the same trace, laid out by the same code, as an HTML fragment: a table row
// per span with a bar for when it ran, the reason on failed spans, the log lines below, the
// trace ID linked where HTMLOptions.TraceURL says. Names, messages and attributes are escaped
// by html/template. spans.Monitor's page opens each kept example request this way.
package waterfall
