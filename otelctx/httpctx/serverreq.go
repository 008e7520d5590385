package httpctx

import (
	"context"
	"unsafe"

	"github.com/ctxtrail/ctxtrail/internal/wire"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/internal/spanids"
	"go.opentelemetry.io/otel/trace"
)

// serverRequest is what NewHandler keeps for one request, in one allocation: the response
// writer wrapper, the first version of the request store, the request ID, a slot for the log
// bridges' encoded span IDs and the echoed header values. It is also a context: the parent
// context of the server span, which answers the request-store and request-ID keys from its own
// fields, the IDs slot's key with the slot (internal/spanids), and passes every other key to the
// context it wraps (the remote parent among them, put there by the trace package's own
// ContextWithRemoteSpanContext, so every tracer finds it as it expects). The handler runs under
// the server span's context, whose parent it is.
//
// Every field Value reads is written before the node is handed to tracer.Start, so processors
// that keep the parent context may read it from any goroutine. Later, only the response
// writer's counters and route slot (which the request's own handler and SetRoute, atomically,
// write), the echo buffers and the IDs slot (filled once, atomically) change.
type serverRequest struct {
	context.Context // the request's context, with baggage and the like extracted

	rw     responseWriter
	fields reqstore.Set
	id     string       // set last, once fields is filled: until then Value passes their keys on
	ids    spanids.Slot // the log bridges' encoded IDs of the first span that logs under it

	echo [2]string // x-trace-id, x-request-id: the response headers' value slices
	tid  [32]byte  // the hex behind echo[0]
}

// Value returns the request store, the request ID and the IDs slot from the node itself and
// asks the wrapped context for anything else.
func (s *serverRequest) Value(key any) any {
	if k, ok := key.(*reqstore.KeyID); ok {
		if s.id != "" {
			switch k {
			case reqstore.FieldsKey:
				return &s.fields
			case reqstore.RequestIDKey:
				return &s.id
			}
		}
	} else if key == spanids.Key {
		return &s.ids
	}
	return s.Context.Value(key)
}

// String describes the node for debugging, as context.WithValue's contexts do.
func (s *serverRequest) String() string { return "httpctx.NewHandler(request " + s.id + ")" }

// setEcho sets x-request-id and, when the span has a trace ID, x-trace-id on the response
// headers, with value slices and hex that live in the node.
func (s *serverRequest) setEcho(h map[string][]string, tid trace.TraceID) {
	s.echo[1] = s.id
	h["X-Request-Id"] = s.echo[1:2:2]
	if tid.IsValid() {
		wire.EncodeHex(s.tid[:], tid[:])
		s.echo[0] = unsafe.String(&s.tid[0], len(s.tid)) // s.tid is never written again
		h["X-Trace-Id"] = s.echo[0:1:1]
	}
}

var (
	serverKindOption = trace.WithSpanKind(trace.SpanKindServer)
	clientKindOption = trace.WithSpanKind(trace.SpanKindClient)
	newRootOption    = trace.WithNewRoot()
)
