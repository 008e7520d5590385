// Package wire is what ctxtrail's HTTP and gRPC instrumentation share about incoming requests,
// and what the propagators package is built on: the bounded reading of trace header fields,
// traceparent decoding, the Level 2 tracestate kept beside the span context, and the one
// incoming step (Server.Extract) that turns a request's headers or metadata into its trace
// context, request ID, trust boundary and baggage, counting bad headers.
//
// Nothing here is for users: otelctx/propagators is. wire imports no ctxtrail package but
// otelctx and the internal W3C baggage rules, so the propagators stay light.
package wire

// Header names, lowercase as they are sent. propagators.HeaderTraceID and friends are the
// public names of the x-headers (a test holds them equal).
const (
	Traceparent = "traceparent"
	Tracestate  = "tracestate"
	Baggage     = "baggage"
	TraceID     = "x-trace-id"
	SpanID      = "x-span-id"
	RequestID   = "x-request-id"
)

// WarnHeaders are the headers a WarnLimiter counts separately, in the order of its counters;
// anything else counts as "other", the last.
var WarnHeaders = [...]string{Traceparent, Tracestate, Baggage, TraceID, SpanID, RequestID, "other"}

// NumWarnHeaders is len(WarnHeaders).
const NumWarnHeaders = len(WarnHeaders)

// WarnHeaderIndex returns header's index in WarnHeaders ("other" for a name not listed).
func WarnHeaderIndex(header string) int {
	for i, h := range WarnHeaders[:NumWarnHeaders-1] {
		if h == header {
			return i
		}
	}
	return NumWarnHeaders - 1
}

// Warner counts bad incoming headers: *propagators.WarnLimiter, whose nil value drops them.
type Warner interface {
	Warn(header, reason string)
}
