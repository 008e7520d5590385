package otelctx

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
	// maxHeaderFields is how many fields of one name (tracestate, baggage) are read. W3C Baggage
	// allows 64 members, so 65 or more non-empty baggage fields cannot all be valid.
	maxHeaderFields = 64
	// maxBaggageLen and maxBaggageMembers are W3C Baggage's limits on the combined fields.
	maxBaggageLen     = 8192
	maxBaggageMembers = 64
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
//   - baggage: every field, as one list without malformed members, or none when there are more
//     than 64 fields or members or more than 8192 bytes (W3C Baggage's limits). A single clean
//     field is returned as it is, without allocating.
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

// baggageValue returns the baggage fields as the Baggage propagator should parse them: the field
// itself when there is one and every member is well formed, otherwise the well-formed members
// combined into one list (RFC 9110 section 5.3). Malformed members are dropped here because the
// SDK's parser allocates an error for each one, which would let a hostile header cost thousands
// of allocations. More than 64 fields, more than 64 members or more than 8192 bytes (W3C
// Baggage's limits) are refused whole.
func baggageValue(vs []string) string {
	scan := scanBaggage(vs)
	switch {
	case len(vs) == 0 || !scan.ok() || scan.members == 0:
		return ""
	case scan.invalid == 0 && scan.blank == 0 && len(vs) == 1:
		return vs[0]
	}
	var b strings.Builder
	b.Grow(scan.size)
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			if validBaggageMember(m) {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				b.WriteString(m)
			}
		}
	}
	return b.String()
}

// baggageScan summarises the baggage fields of a request.
type baggageScan struct {
	fields  int // fields, including blank ones
	members int // well-formed members
	invalid int // malformed members
	blank   int // empty or whitespace-only members, which the SDK's parser also refuses
	size    int // bytes of all fields and the commas that would join them
}

// ok reports whether the fields are within W3C Baggage's limits.
func (s baggageScan) ok() bool {
	return s.fields <= maxHeaderFields && s.members <= maxBaggageMembers && s.size <= maxBaggageLen
}

func scanBaggage(vs []string) baggageScan {
	s := baggageScan{fields: len(vs)}
	if s.fields > maxHeaderFields {
		return s
	}
	for i, v := range vs {
		if i > 0 {
			s.size++
		}
		if s.size += len(v); s.size > maxBaggageLen {
			return s
		}
		for m := range strings.SplitSeq(v, ",") {
			switch {
			case validBaggageMember(m):
				s.members++
			case strings.TrimSpace(m) == "":
				s.blank++
			default:
				s.invalid++
			}
		}
	}
	return s
}

// validBaggageMember reports whether m has the key and value the SDK's baggage parser accepts:
// a token key, '=', a value of baggage-octets whose '%' each start a two-digit escape, with
// surrounding white space allowed. Properties (after ';') are left to the SDK.
func validBaggageMember(m string) bool {
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = m[:i]
	}
	k, v, found := strings.Cut(m, "=")
	if !found {
		return false
	}
	if k = strings.TrimSpace(k); k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !w3cbaggage.TokenChar[k[i]] {
			return false
		}
	}
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !w3cbaggage.OctetChar[c] {
			return false
		}
		if c == '%' && (i+2 >= len(v) || !w3cbaggage.IsHex(v[i+1]) || !w3cbaggage.IsHex(v[i+2])) {
			return false
		}
	}
	return true
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
func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

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
