// Package keep keeps every failed and slow trace whole without exporting every span: the
// in-process capture.
//
// Head sampling decides at the first span whether a trace is exported, before anyone knows
// whether the request will fail. A tail-sampling gateway decides afterwards, but only once
// every span has been sent to it. Package keep decides in the process: Sampler records the
// spans the head sampler drops (RecordOnly: recorded, not sampled), and Processor buffers them
// per trace until the trace's local root span ends (a server span, or any span without a local
// parent). Then a trace in which
//
//   - some span ended with an error status (a server span for a 5xx response or a failing
//     RPC, a client span for a failed call, spans.Run for an error returned), or
//   - the local root lasted at least the slow threshold (WithSlowThreshold), or
//   - a callee said in its response that it kept its part (the keep signal, below)
//
// is handed whole to the exporting processors with the sampled flag set in its span contexts,
// parents and IDs unchanged, as if the head had sampled it; the exporter and Jaeger see
// ordinary sampled spans, and the local roots carry AttrReason. Any other trace is dropped. The
// spans the head samples pass straight through, so a trace is exported at the head rate plus
// the share of failed and slow requests.
//
// What the exporter sees of a kept span is what it would see of a sampled one: its span
// context, and its parent's when the parent is local (exported too), carry the sampled flag,
// so the OTLP exporter writes flags 01 in the span's flags field and Jaeger stores it like any
// other. A local root whose parent is remote keeps that parent as it came: the caller's
// span ID, marked remote, not sampled (the caller either keeps its part through the keep
// signal, or the parent is missing from the stored trace, as it would be under head sampling).
//
// # The keep signal
//
// A head-unsampled request stays unsampled downstream: the traceparent sent says not-sampled,
// so each callee records and decides for itself. A callee that keeps its part says so in its
// response: httpctx's handler sets the header x-ctxtrail-keep: 1 (gRPC: the trailer
// x-ctxtrail-keep) when, as the response goes out, its trace is already kept or the response is
// an error (HTTP 5xx, a gRPC error). The caller's httpctx.Transport or grpcctx client handler
// reads it (exactly "1"; any other value is counted and ignored), marks the client span with
// AttrCalleeKept, and tells its Processor, which keeps the caller's part when the caller's local
// root ends. A handler at a trust boundary (httpctx.WithTrustBoundary, grpcctx.WithTrustBoundary)
// never sends the signal: its trace is its own. A transport given httpctx.WithoutKeepSignal
// (for a service outside the boundary) never reads it.
//
// # What is guaranteed
//
// When every service on a request's path runs the capture with the keep signal, each caller
// waits for its callee's response headers before its own local root ends, no cap is reached, and
// the failure is known to the failing service before it sends its response headers (for a slow
// request: its threshold passed by then; over gRPC, before the handler returns), then for
// every request that fails or is slow, every span from the root of the trace down to the
// failing or slow span, in every service on that path, is exported. Spans of that trace on
// other branches are exported too in each service that keeps (the whole local part is kept),
// but a callee on another branch that neither failed nor was slow drops its part. What is not
// covered: a failure after the response headers went out (a streaming body that breaks), a
// caller whose local root ended before the response came (a fire-and-forget call), services
// that do not run the capture, and calls across a trust boundary.
//
// # Bounds
//
// Every buffer is capped: spans per trace (WithMaxSpansPerTrace), attributes and events per span
// (WithMaxAttributesPerSpan, WithMaxEventsPerSpan), estimated bytes held by the processor
// (WithMaxBytes) and traces buffered at once (WithMaxTraces). A kept trace past a cap is
// exported as far as it fits; its local roots carry AttrTruncated and AttrDroppedSpans, and the
// drops are counted (Stats, RegisterMetrics). Local root spans always fit.
//
// # With ctxtrail.Install
//
// ctxtrail.WithKeepErrorsAndSlow (or CTXTRAIL_KEEP=errors-and-slow) wraps Install's sampler in
// Sampler and puts a Processor in front of the exporters, with the processor's metrics on
// Install's meter provider. Processors registered with WithSpanProcessor (hooks, the monitor)
// then see every recorded span, sampled or not.
package keep
