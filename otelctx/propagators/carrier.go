package propagators

import (
	"net/http"
	"net/textproto"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts an http.Header to propagation.TextMapCarrier. Get reads repeated headers
// the way the W3C specifications require, where the SDK's propagation.HeaderCarrier returns only
// the first value:
//
//   - traceparent: exactly one field, or none is reported (two traceparent fields make the
//     context invalid, so the request starts a fresh trace). Leading and trailing spaces and
//     tabs are trimmed; a version 00 value of the wrong length and values over 512 bytes are
//     refused.
//   - tracestate: every field, in order, is one list; empty and whitespace-only members are
//     dropped. More than 32 members, more than 64 fields or more bytes than 32 full members
//     make the list invalid, and it is discarded (the traceparent still counts).
//   - baggage: every field, read as one list by the bounded reading the baggage package's
//     Propagator shares: the first 64 list-members within the first 8192 bytes of the combined
//     fields (W3C Baggage's limits), whole and in order, without the malformed ones and without
//     identifier members (user.id, tenant.id, session.id, request.id) whose value is not an
//     identifier. Members past a limit are dropped, never cut. A single clean field is returned
//     as it is, without allocating.
//   - x-trace-id, x-span-id, x-request-id: exactly one field, trimmed, or none.
//   - any other key: the first value, like http.Header.Get.
//
// Set replaces the field. The header names ctxtrail propagates are matched without allocating.
//
// HeaderCarrier deliberately does not implement propagation.ValuesGetter: Get already combines
// the fields, and the Baggage propagator then parses one list once instead of parsing each field
// and merging the results.
type HeaderCarrier http.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// canonicalKey returns the http.Header key for key and, for the trace headers, the name wire
// reads them by. The names ctxtrail propagates are mapped without allocating; other names go
// through textproto.CanonicalMIMEHeaderKey.
func canonicalKey(key string) (canonical, name string) {
	switch key {
	case wire.Traceparent, "Traceparent":
		return "Traceparent", wire.Traceparent
	case wire.Tracestate, "Tracestate":
		return "Tracestate", wire.Tracestate
	case wire.Baggage, "Baggage":
		return "Baggage", wire.Baggage
	case HeaderTraceID, "X-Trace-Id":
		return "X-Trace-Id", HeaderTraceID
	case HeaderSpanID, "X-Span-Id":
		return "X-Span-Id", HeaderSpanID
	case HeaderRequestID, "X-Request-Id":
		return "X-Request-Id", HeaderRequestID
	}
	return textproto.CanonicalMIMEHeaderKey(key), ""
}

// Get returns the value for key, read as the type comment describes.
func (c HeaderCarrier) Get(key string) string {
	k, name := canonicalKey(key)
	vs := c[k]
	if name != "" {
		v, _ := wire.Value(name, vs)
		return v
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Set replaces the values for key with value. On a nil HeaderCarrier it does nothing.
func (c HeaderCarrier) Set(key, value string) {
	if c == nil {
		return
	}
	k, _ := canonicalKey(key)
	c[k] = []string{value}
}

// Keys lists the header names held, in canonical form.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
