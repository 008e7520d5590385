package httpctx

import (
	"net/http"

	"github.com/ctxtrail/ctxtrail/internal/keepsignal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// HeaderKeep is the response header a handler sets, with the value "1", when the in-process
// capture (package spans/keep) keeps its part of a trace the head did not sample, and that the
// Transport reads to keep the caller's part too. Only ctxtrail's capture sets or reads it: with
// no capture running, neither the handler nor the Transport does anything with it.
const HeaderKeep = keepsignal.Header

// WithoutKeepSignal makes the Transport ignore HeaderKeep in responses: use it for calls to
// services outside your trust boundary, which could otherwise make the capture keep (and
// export) the caller's part of any trace they like. Handlers at a trust boundary
// (WithTrustBoundary) never send the header.
func WithoutKeepSignal() TransportOption {
	return transportOption(func(c transportConfig) transportConfig { c.noKeepSignal = true; return c })
}

type transportOption func(transportConfig) transportConfig

func (o transportOption) applyTransport(c transportConfig) transportConfig { return o(c) }

// keepResponse is the handler's part of the keep signal for one response.
type keepResponse struct {
	allowed bool // not at a trust boundary
	asked   bool // the capture was asked already: the header goes with the first final status
}

// keepSignal sets HeaderKeep on the response about to go out, with status code, when a
// capture keeps the server span's trace: the caller's capture then keeps its part too. The
// capture decides from what it knows now (an error status to send, a span already failed, a
// callee that kept, the time taken so far), and a yes is final.
func (w *responseWriter) keepSignal(code int) {
	if !w.keep.allowed || w.keep.asked || !keepsignal.Active() || w.route.Span == nil {
		return
	}
	w.keep.asked = true
	if keepsignal.Respond(w.route.Span.SpanContext(), code >= 500) {
		w.ResponseWriter.Header()[keepHeaderKey] = []string{keepsignal.Value}
	}
}

// keepSignal reads HeaderKeep from a response: when the callee kept its part, the client span
// is marked (AttrCalleeKept, appended to end) and the capture told.
func (t *Transport) keepSignal(end []attribute.KeyValue, span trace.Span, resp *http.Response) []attribute.KeyValue {
	if t.cfg.noKeepSignal || !keepsignal.Active() {
		return end
	}
	vs := resp.Header[keepHeaderKey]
	if len(vs) > 0 && keepsignal.Received(span.SpanContext(), vs) {
		end = append(end, attribute.Bool(keepsignal.AttrCalleeKept, true))
	}
	return end
}

var keepHeaderKey = http.CanonicalHeaderKey(keepsignal.Header)
