package wire

import "go.opentelemetry.io/otel/trace"

// ValidTraceparent reports whether v (already trimmed of OWS, as TraceparentValue returns it) is
// a traceparent that propagation.TraceContext accepts through propagators.HeaderCarrier: W3C
// Trace Context Level 2 section 3.2 and its versioning rules. Version 00 is exactly 55 bytes
// with only the sampled and random flags allowed (the Go SDK refuses reserved flag bits); a
// higher version (not ff) is parsed for its first four fields, which must end the value or be
// followed by '-'. The fuzz tests hold it to the SDK's verdict.
func ValidTraceparent(v string) bool {
	var tid trace.TraceID
	var sid trace.SpanID
	var flags byte
	return decodeTraceparent(v, &tid, &sid, &flags)
}

// decodeTraceparent is ValidTraceparent that keeps the IDs and flags it decoded.
func decodeTraceparent(v string, tid *trace.TraceID, sid *trace.SpanID, flags *byte) bool {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return false
	}
	var ver, fl [1]byte
	if !DecodeHex(ver[:], v[:2]) || ver[0] == 0xff ||
		!DecodeHexID(tid[:], v[3:35]) || !DecodeHexID(sid[:], v[36:52]) || !DecodeHex(fl[:], v[53:55]) {
		return false
	}
	*flags = fl[0]
	if ver[0] == 0 {
		return len(v) == 55 && fl[0] <= 3
	}
	return len(v) == 55 || v[55] == '-'
}

// ParseTraceparent reads a traceparent and tracestate as propagation.TraceContext does (the
// fuzz tests hold the two to the same result): the remote span context, or an invalid one. tp
// is the one traceparent, already trimmed (TraceparentValue); ts the tracestate fields joined
// (TracestateValue).
func ParseTraceparent(tp, ts string) trace.SpanContext {
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

// XSpanContext builds the remote parent named by x-trace-id tid and x-span-id sid. ok is false
// when the trace ID is not usable; a usable trace ID with a bad or missing span ID gives a span
// context that names only the trace, which the SDK turns into a root span of that trace. The
// x-headers carry no flags: a trace continued from them counts as sampled.
func XSpanContext(tid, sid string) (trace.SpanContext, bool) {
	var scc trace.SpanContextConfig
	if !DecodeHexID(scc.TraceID[:], tid) {
		return trace.SpanContext{}, false
	}
	if !DecodeHexID(scc.SpanID[:], sid) {
		scc.SpanID = trace.SpanID{}
	}
	scc.TraceFlags = trace.FlagsSampled
	scc.Remote = true
	return trace.NewSpanContext(scc), true
}

// PutTraceparent encodes sc as a version 00 traceparent, keeping only the sampled and random
// flags, exactly as propagation.TraceContext does.
func PutTraceparent(b *[55]byte, sc trace.SpanContext) {
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2], b[35], b[52] = '0', '0', '-', '-', '-'
	EncodeHex(b[3:35], tid[:])
	EncodeHex(b[36:52], sid[:])
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	b[53], b[54] = HexDigits[flags>>4], HexDigits[flags&0xf]
}
