package httpctx

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	"go.opentelemetry.io/otel/propagation"
)

// Bounds on what HeaderCarrier hands to a parser. Anything past them is refused whole, never
// truncated, so a parser sees either a value the specifications allow or nothing.
const (
	// maxTraceparentLen is far above version 00's 55 bytes, leaving room for future versions.
	maxTraceparentLen = 512
	// maxTracestateMembers and maxTracestateLen are W3C's limits: 32 list members, each a key of
	// up to 256 bytes, '=' and a value of up to 256 bytes, plus the commas between them.
	maxTracestateMembers = 32
	maxTracestateLen     = maxTracestateMembers*(256+1+256) + maxTracestateMembers - 1
	// maxHeaderFields is how many tracestate fields are read.
	maxHeaderFields = 64
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

// canonicalKey returns the http.Header key for key. The names ctxtrail propagates are mapped
// without allocating; other names go through textproto.CanonicalMIMEHeaderKey.
func canonicalKey(key string) string {
	switch key {
	case headerTraceparent, "Traceparent":
		return "Traceparent"
	case headerTracestate, "Tracestate":
		return "Tracestate"
	case headerBaggage, "Baggage":
		return "Baggage"
	case HeaderTraceID, "X-Trace-Id":
		return "X-Trace-Id"
	case HeaderSpanID, "X-Span-Id":
		return "X-Span-Id"
	case HeaderRequestID, "X-Request-Id":
		return "X-Request-Id"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}

// Get returns the value for key, read as the type comment describes.
func (c HeaderCarrier) Get(key string) string {
	k := canonicalKey(key)
	vs := c[k]
	switch k {
	case "Traceparent":
		return traceparentValue(vs)
	case "Tracestate":
		return tracestateValue(vs)
	case "Baggage":
		return baggageValue(vs)
	case "X-Trace-Id", "X-Span-Id", "X-Request-Id":
		if len(vs) != 1 {
			return ""
		}
		return trimOWS(vs[0])
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
	c[canonicalKey(key)] = []string{value}
}

// Keys lists the header names held, in canonical form.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

func isOWS(b byte) bool { return b == ' ' || b == '\t' }

// trimOWS trims the optional whitespace (spaces and tabs) of RFC 9110 from both ends of s.
func trimOWS(s string) string { return w3cbaggage.TrimOWS(s) }

// traceparentValue is the one traceparent a request may carry, trimmed, or "".
func traceparentValue(vs []string) string {
	if len(vs) != 1 {
		return ""
	}
	v := trimOWS(vs[0])
	if len(v) > maxTraceparentLen || (strings.HasPrefix(v, "00") && len(v) != 55) {
		// Version 00 has exactly four fields: "00-<trace-id>-<parent-id>-<flags>-" is invalid,
		// though the SDK's parser, which stops at the flags, would take it.
		return ""
	}
	return v
}

// tracestateValue combines the tracestate fields into one list, dropping empty and
// whitespace-only members, or returns "" when the result cannot be a valid list. A single clean
// field is returned as it is, without allocating.
func tracestateValue(vs []string) string {
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) > maxHeaderFields:
		return ""
	case len(vs) == 1:
		if v := trimOWS(vs[0]); !hasBlankMember(v) {
			if len(v) > maxTracestateLen || strings.Count(v, ",") >= maxTracestateMembers {
				return ""
			}
			return v
		}
	}
	members, size := 0, 0
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			if m = trimOWS(m); m == "" {
				continue
			}
			members++
			size += len(m)
			if members > maxTracestateMembers || size+members-1 > maxTracestateLen {
				return ""
			}
		}
	}
	if members == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(size + members - 1)
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			if m = trimOWS(m); m == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m)
		}
	}
	return b.String()
}

// hasBlankMember reports whether the list v (trimmed) has an empty or whitespace-only member,
// which W3C allows but trace.ParseTraceState refuses.
func hasBlankMember(v string) bool {
	if v == "" {
		return true
	}
	blank := true
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ',':
			if blank {
				return true
			}
			blank = true
		case !isOWS(c):
			blank = false
		}
	}
	return blank
}
