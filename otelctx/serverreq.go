package otelctx

import (
	"context"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// serverRequest is what NewHandler keeps for one request, in one allocation: the response
// writer wrapper, the first version of the request store, the request ID, the span's attributes
// and start options, and the echoed header values. It is also the context the handler runs
// under: it answers the request-store and request-ID keys from its own fields and passes every
// other key to the context it wraps (the one holding the server span). Two context values, a
// boxed string and five small objects per request become one object.
//
// Nothing in it changes once next is called, except the response writer's counters and route
// slot, which only the request's own handler (and SetRoute, atomically) write.
type serverRequest struct {
	context.Context // the extracted context with the server span

	rw     responseWriter
	fields fieldSet
	id     string

	attrs [12]attribute.KeyValue // the span's start attributes, then its end attributes
	opts  [4]trace.SpanStartOption
	echo  [2]string // x-trace-id, x-request-id: the response headers' value slices
	tid   [32]byte  // the hex behind echo[0]
}

// Value returns the request store and the request ID from the node itself and asks the wrapped
// context for anything else.
func (s *serverRequest) Value(key any) any {
	if k, ok := key.(*keyID); ok {
		switch k {
		case fieldsKey.id:
			return &s.fields
		case requestIDKey.id:
			return &s.id
		}
	}
	return s.Context.Value(key)
}

// String describes the node for debugging, as context.WithValue's contexts do.
func (s *serverRequest) String() string { return "otelctx.NewHandler(request " + s.id + ")" }

// setEcho sets x-request-id and, when the span has a trace ID, x-trace-id on the response
// headers, with value slices and hex that live in the node.
func (s *serverRequest) setEcho(h map[string][]string, tid trace.TraceID) {
	s.echo[1] = s.id
	h["X-Request-Id"] = s.echo[1:2:2]
	if tid.IsValid() {
		encodeHex(s.tid[:], tid[:])
		s.echo[0] = unsafe.String(&s.tid[0], len(s.tid)) // s.tid is never written again
		h["X-Trace-Id"] = s.echo[0:1:1]
	}
}

var (
	serverKindOption = trace.WithSpanKind(trace.SpanKindServer)
	clientKindOption = trace.WithSpanKind(trace.SpanKindClient)
	newRootOption    = trace.WithNewRoot()
)
