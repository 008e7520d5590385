package httpctx

import (
	"context"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceContext is propagation.TraceContext that also passes on a W3C Trace Context Level 2
// tracestate. The Go SDK parses tracestate keys with Level 1's grammar (a lowercase letter
// first, "@" only once, between a tenant of up to 241 and a vendor of up to 14 characters), so
// a list holding one Level 2 key — a digit first ("1vendor"), "@" anywhere after the first
// character ("a@b@c"), a tenant or vendor longer than Level 1 allows, up to 256 characters — is
// refused whole, and the next service never sees it, though the specification says a service
// MUST pass tracestate on.
//
// Extract does what propagation.TraceContext does and, when the SDK refused the tracestate of
// a valid traceparent, reads it again with Level 2's grammar: key = (lcalpha / DIGIT)
// 0*255(keychar), keychar adding "@" to Level 1's; value as in Level 1. The SDK also refuses a
// list that gives a key twice, which the specification lets a vendor repair by discarding the
// duplicates; Extract keeps each key's first member. A list that passes — at most 32 members,
// empty and whitespace-only members dropped, OWS around members trimmed, duplicates dropped —
// is kept in the context beside the span context, tied to its trace ID. Inject writes it as the
// tracestate of any span context of that trace (the extracted one and its descendants), after
// the members local code put in the span context's TraceState, which win over a member of the
// same key; members past 32 are dropped from the right, as the specification asks of a vendor
// that adds one.
//
// What it cannot do, because trace.TraceState cannot hold a Level 2 key: samplers, span
// processors and exporters do not see a list kept this way (an exported span's trace_state stays
// empty), and local code can add or replace members but not delete a Level 2 one. A span
// context of another trace — a new root, as at a trust boundary — never carries it.
//
// The zero value is ready to use. NewPropagator and the "tracecontext" of OTEL_PROPAGATORS use
// it.
type TraceContext struct{}

var _ propagation.TextMapPropagator = TraceContext{}

// levelTwo is a Level 2 tracestate kept from an incoming request, for the trace it came with.
type levelTwo struct {
	traceID trace.TraceID
	value   string // normalised: members trimmed, empty members dropped, joined by ","
}

var levelTwoKey = otelctx.NewKey[*levelTwo]("ctxtrail.tracestate_level2")

// Inject sets traceparent and tracestate from ctx into carrier.
func (TraceContext) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	propagation.TraceContext{}.Inject(ctx, carrier)
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	if v := levelTwoTracestate(ctx, sc); v != "" {
		carrier.Set(headerTracestate, v)
	}
}

// Extract reads traceparent and tracestate from carrier into a copy of ctx.
func (TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	return withLevelTwo(ctx, trace.SpanContextFromContext(ctx), carrier)
}

// withLevelTwo keeps in ctx the Level 2 tracestate that came with sc, the remote parent just
// extracted from carrier, when the SDK's parser refused it.
func withLevelTwo(ctx context.Context, sc trace.SpanContext, carrier propagation.TextMapCarrier) context.Context {
	if !sc.IsValid() || !sc.IsRemote() || sc.TraceState().Len() > 0 {
		return ctx
	}
	if v, ok := parseLevelTwo(carrier.Get(headerTracestate)); ok {
		return levelTwoKey.With(ctx, &levelTwo{traceID: sc.TraceID(), value: v})
	}
	if l2 := levelTwoKey.Value(ctx); l2 != nil && l2.traceID == sc.TraceID() {
		return levelTwoKey.With(ctx, nil) // an outer request's list is not this request's
	}
	return ctx
}

// Fields returns the header names Inject sets.
func (TraceContext) Fields() []string { return propagation.TraceContext{}.Fields() }

// levelTwoTracestate returns the tracestate to send for sc: "" when ctx holds no Level 2 list
// for sc's trace, else that list after sc's own members.
func levelTwoTracestate(ctx context.Context, sc trace.SpanContext) string {
	l2 := levelTwoKey.Value(ctx)
	if l2 == nil || l2.traceID != sc.TraceID() {
		return ""
	}
	ts := sc.TraceState()
	if ts.Len() == 0 {
		return l2.value
	}
	// Local members first (they were added or updated here), then the kept ones not replaced.
	var b strings.Builder
	b.WriteString(ts.String())
	n := ts.Len()
	for m := range strings.SplitSeq(l2.value, ",") {
		if n >= maxTracestateMembers {
			break
		}
		key, _, _ := strings.Cut(m, "=")
		if ts.Get(key) != "" {
			continue
		}
		b.WriteByte(',')
		b.WriteString(m)
		n++
	}
	return b.String()
}

// hasTracestate reports whether extraction kept a tracestate for ctx's span context, in the
// SDK's TraceState or as a Level 2 list.
func hasTracestate(ctx context.Context) bool {
	sc := trace.SpanContextFromContext(ctx)
	if sc.TraceState().Len() > 0 {
		return true
	}
	l2 := levelTwoKey.Value(ctx)
	return l2 != nil && l2.traceID == sc.TraceID()
}

// parseLevelTwo checks v, a tracestate as HeaderCarrier returns it (within the list limits,
// fields joined), against Level 2's grammar and returns it normalised: OWS around members
// trimmed, empty members dropped, and of a key given twice only the first (leftmost) member
// kept. The specification lets a vendor "discard duplicate keys that were not generated by
// them", and the leftmost member is the key's most recent position, since an updated member
// moves to the left. ok is false when a member is malformed or more than 32 members came
// (duplicates counted): then the whole list is discarded, as the specification requires of a
// list that cannot be parsed.
func parseLevelTwo(v string) (string, bool) {
	if v == "" || len(v) > maxTracestateLen {
		return "", false
	}
	var kept [maxTracestateMembers]string // trimmed members, first of each key
	n, members, clean := 0, 0, true
	for m := range strings.SplitSeq(v, ",") {
		t := trimOWS(m)
		if t == "" || len(t) != len(m) {
			clean = false
		}
		if t == "" {
			continue
		}
		key, value, found := strings.Cut(t, "=")
		if !found || !levelTwoKeyOK(key) || !tracestateValueOK(value) || members == maxTracestateMembers {
			return "", false
		}
		members++
		if keptKey(kept[:n], key) {
			clean = false
			continue
		}
		kept[n] = t
		n++
	}
	if n == 0 {
		return "", false
	}
	if clean {
		return v, true
	}
	return strings.Join(kept[:n], ","), true
}

// keptKey reports whether one of members, each "key=value", has the key key.
func keptKey(members []string, key string) bool {
	for _, m := range members {
		if len(m) > len(key) && m[len(key)] == '=' && m[:len(key)] == key {
			return true
		}
	}
	return false
}

// levelTwoKeyOK reports whether k is a Level 2 tracestate key:
//
//	key     = ( lcalpha / DIGIT ) 0*255 ( keychar )
//	keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
func levelTwoKeyOK(k string) bool {
	if len(k) == 0 || len(k) > 256 || !(isLower(k[0]) || isDigit(k[0])) {
		return false
	}
	for i := 1; i < len(k); i++ {
		switch c := k[i]; {
		case isLower(c), isDigit(c), c == '_', c == '-', c == '*', c == '/', c == '@':
		default:
			return false
		}
	}
	return true
}

// tracestateValueOK reports whether v is a tracestate value, the same in both levels:
//
//	value    = 0*255(chr) nblk-chr
//	nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
//	chr      = %x20 / nblk-chr
func tracestateValueOK(v string) bool {
	if len(v) == 0 || len(v) > 256 || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
