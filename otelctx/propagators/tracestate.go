package propagators

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/wire"
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
// The zero value is ready to use. New and the "tracecontext" of OTEL_PROPAGATORS use
// it.
type TraceContext struct{}

var _ propagation.TextMapPropagator = TraceContext{}

// Inject sets traceparent and tracestate from ctx into carrier.
func (TraceContext) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	propagation.TraceContext{}.Inject(ctx, carrier)
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	if v := wire.LevelTwoTracestate(ctx, sc); v != "" {
		carrier.Set(wire.Tracestate, v)
	}
}

// Extract reads traceparent and tracestate from carrier into a copy of ctx.
func (TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	return wire.WithLevelTwo(ctx, trace.SpanContextFromContext(ctx), carrier)
}

// Fields returns the header names Inject sets.
func (TraceContext) Fields() []string { return propagation.TraceContext{}.Fields() }
