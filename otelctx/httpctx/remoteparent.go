package httpctx

import (
	"go.opentelemetry.io/otel/trace"
)

// parseTraceparent reads a traceparent and tracestate as propagation.TraceContext does (the fuzz
// tests hold the two to the same result): the remote span context, or an invalid one. tp is
// the one traceparent, already trimmed (traceparentValue); ts the tracestate fields joined
// (tracestateValue).
func parseTraceparent(tp, ts string) trace.SpanContext {
	var scc trace.SpanContextConfig
	var flags byte
	if !decodeTraceparent(tp, &scc.TraceID, &scc.SpanID, &flags) {
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(flags) & (trace.FlagsSampled | trace.FlagsRandom)
	// As the W3C specification asks, a tracestate that does not parse leaves the traceparent be.
	scc.TraceState, _ = trace.ParseTraceState(ts)
	scc.Remote = true
	return trace.NewSpanContext(scc)
}
