package logctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// Keys names what a line takes from its context. An empty key leaves that value out.
type Keys struct {
	TraceID, SpanID, ParentSpanID, RequestID string
	Baggage                                  []string // baggage members, by key
}

// Line is what one log line takes from its context, gathered once (one context lookup per
// kind) so that a bridge can size its output before writing.
type Line struct {
	IDs       *SpanIDs // nil when the context has no valid span context
	RequestID string
	Fields    otelctx.Fields
	Bag       baggage.Baggage // empty unless Keys.Baggage names members
}

// Member returns the value of the baggage member key when lc carries one that a line may hold.
// An identifier member (user.id, tenant.id, session.id, request.id) whose value is not an
// identifier is absent, as baggage.UserID().Get and the span processor see it. Both bridges read
// members here for their own lines and for OpenTelemetry records, so the two never differ.
func (lc *Line) Member(key string) (string, bool) {
	m := lc.Bag.Member(key)
	if m.Key() == "" || !w3cbaggage.ValidValue(key, m.Value()) {
		return "", false
	}
	return m.Value(), true
}

// Gatherer reads lines' contexts for one bridge configuration. It is safe for concurrent use.
type Gatherer struct {
	Keys Keys
	idsN int
	ids  IDCache
}

// NewGatherer returns a Gatherer for keys.
func NewGatherer(keys Keys) *Gatherer {
	g := &Gatherer{Keys: keys}
	for _, k := range []string{keys.TraceID, keys.SpanID, keys.ParentSpanID} {
		if k != "" {
			g.idsN++
		}
	}
	g.ids.WithParent = keys.ParentSpanID != ""
	return g
}

// Gather reads ctx and returns at most how many values a bridge will add for it.
func (g *Gatherer) Gather(ctx context.Context) (lc Line, n int) {
	if ctx == nil {
		return lc, 0
	}
	if g.idsN > 0 {
		span := trace.SpanFromContext(ctx)
		sc := span.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		// An invalid span context (no span, or zero IDs from a bad header) writes no IDs at all.
		if tid.IsValid() && sid.IsValid() {
			lc.IDs = g.ids.Lookup(ctx, span, tid, sid)
			n += g.idsN
		}
	}
	if g.Keys.RequestID != "" {
		if lc.RequestID = otelctx.RequestID(ctx); lc.RequestID != "" {
			n++
		}
	}
	lc.Fields = otelctx.FieldsFrom(ctx)
	n += lc.Fields.Len()
	if len(g.Keys.Baggage) > 0 {
		lc.Bag = baggage.FromContext(ctx)
		if lc.Bag.Len() > 0 {
			n += len(g.Keys.Baggage)
		}
	}
	return lc, n
}
