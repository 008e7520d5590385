package wire

import (
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
)

// Bounds on what the carriers hand to a parser. Anything past them is refused whole, never
// truncated, so a parser sees either a value the specifications allow or nothing.
const (
	// maxTraceparentLen is far above version 00's 55 bytes, leaving room for future versions.
	maxTraceparentLen = 512
	// MaxTracestateMembers and MaxTracestateLen are W3C's limits: 32 list members, each a key of
	// up to 256 bytes, '=' and a value of up to 256 bytes, plus the commas between them.
	MaxTracestateMembers = 32
	MaxTracestateLen     = MaxTracestateMembers*(256+1+256) + MaxTracestateMembers - 1
	// maxHeaderFields is how many tracestate fields are read.
	maxHeaderFields = 64
)

// Value returns the value of the trace header name (lowercase, one of this package's header
// names) from its fields vs, read the way the W3C specifications require; see
// propagators.HeaderCarrier for the rules. ok is false for any other name, which the carrier
// reads its own way.
func Value(name string, vs []string) (v string, ok bool) {
	switch name {
	case Traceparent:
		return TraceparentValue(vs), true
	case Tracestate:
		return TracestateValue(vs), true
	case Baggage:
		return BaggageValue(vs), true
	case TraceID, SpanID, RequestID:
		if len(vs) != 1 {
			return "", true
		}
		return TrimOWS(vs[0]), true
	}
	return "", false
}

func isOWS(b byte) bool { return b == ' ' || b == '\t' }

// TrimOWS trims the optional whitespace (spaces and tabs) of RFC 9110 from both ends of s.
func TrimOWS(s string) string { return w3cbaggage.TrimOWS(s) }

// TraceparentValue is the one traceparent a request may carry, trimmed, or "".
func TraceparentValue(vs []string) string {
	if len(vs) != 1 {
		return ""
	}
	v := TrimOWS(vs[0])
	if len(v) > maxTraceparentLen || (strings.HasPrefix(v, "00") && len(v) != 55) {
		// Version 00 has exactly four fields: "00-<trace-id>-<parent-id>-<flags>-" is invalid,
		// though the SDK's parser, which stops at the flags, would take it.
		return ""
	}
	return v
}

// TracestateValue combines the tracestate fields into one list, dropping empty and
// whitespace-only members, or returns "" when the result cannot be a valid list. A single clean
// field is returned as it is, without allocating.
func TracestateValue(vs []string) string {
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) > maxHeaderFields:
		return ""
	case len(vs) == 1:
		if v := TrimOWS(vs[0]); !hasBlankMember(v) {
			if len(v) > MaxTracestateLen || strings.Count(v, ",") >= MaxTracestateMembers {
				return ""
			}
			return v
		}
	}
	members, size := 0, 0
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			if m = TrimOWS(m); m == "" {
				continue
			}
			members++
			size += len(m)
			if members > MaxTracestateMembers || size+members-1 > MaxTracestateLen {
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
			if m = TrimOWS(m); m == "" {
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

// blankList reports whether the list v has no member but spaces, tabs and commas.
func blankList(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != ',' && !isOWS(c) {
			return false
		}
	}
	return true
}
