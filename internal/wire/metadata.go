package wire

import "strings"

// Metadata reads incoming gRPC metadata (google.golang.org/grpc/metadata.MD, whose keys are
// lowercase) as a propagation.TextMapCarrier, exactly as propagators.HeaderCarrier reads HTTP
// headers: one traceparent or none, tracestate and baggage fields joined within the W3C limits,
// one x-trace-id / x-span-id / x-request-id or none. Binary ("-bin") keys are never read as
// trace headers: Get("traceparent") looks at "traceparent" only.
//
// It is read-only by its type: the gRPC server handler reads grpc-go's incoming metadata in
// place, which belongs to grpc-go and to every other handler of the call, so Set does nothing
// (extraction never writes to its carrier) and there is no way to reach the map through it.
type Metadata struct{ md map[string][]string }

// ReadMetadata returns a read-only carrier over md, without copying it.
func ReadMetadata(md map[string][]string) Metadata { return Metadata{md} }

// metadataKey lowercases key, without allocating for the names ctxtrail propagates.
func metadataKey(key string) string {
	switch key {
	case Traceparent, "Traceparent":
		return Traceparent
	case Tracestate, "Tracestate":
		return Tracestate
	case Baggage, "Baggage":
		return Baggage
	case TraceID, "X-Trace-Id":
		return TraceID
	case SpanID, "X-Span-Id":
		return SpanID
	case RequestID, "X-Request-Id":
		return RequestID
	}
	return strings.ToLower(key)
}

// Get returns the value for key, read as propagators.HeaderCarrier.Get reads it.
func (c Metadata) Get(key string) string {
	k := metadataKey(key)
	vs := c.md[k]
	if v, ok := Value(k, vs); ok {
		return v
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Set does nothing: the metadata is the caller's to keep.
func (Metadata) Set(string, string) {}

// Keys lists the keys held.
func (c Metadata) Keys() []string {
	keys := make([]string, 0, len(c.md))
	for k := range c.md {
		keys = append(keys, k)
	}
	return keys
}

// Fields returns the trace header fields of the metadata, for Server.Extract's checks.
func (c Metadata) Fields() Fields {
	return Fields{
		Traceparent: c.md[Traceparent], Tracestate: c.md[Tracestate], Baggage: c.md[Baggage],
		TraceID: c.md[TraceID], SpanID: c.md[SpanID],
	}
}

// Fields are the raw fields of the trace headers of one request, as they came.
type Fields struct {
	Traceparent, Tracestate, Baggage, TraceID, SpanID []string
}

// HeaderFields returns the trace header fields of h, an http.Header (canonical keys).
func HeaderFields(h map[string][]string) Fields {
	return Fields{
		Traceparent: h["Traceparent"], Tracestate: h["Tracestate"], Baggage: h["Baggage"],
		TraceID: h["X-Trace-Id"], SpanID: h["X-Span-Id"],
	}
}
