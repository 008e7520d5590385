package slogbridge

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ErrNilHandler is what NewHandler panics with when next is nil: a handler that could only fail
// at log time is refused when it is made.
var ErrNilHandler = errors.New("slogbridge: NewHandler: next handler is nil")

// inlineAttrs is how many context attributes a record gets without a heap allocation: the IDs,
// the request ID and a few request-store fields.
const inlineAttrs = 8

// handler wraps a slog.Handler and adds the context's attributes to every record.
//
// The context's attributes always go at the top level of the record, beside the message, even
// when WithGroup has opened a group: a log search for trace_id finds every line of a trace,
// whatever group the code logged in. To do that, a handler with open groups keeps them (and the
// attributes given to it inside them) itself instead of handing them to next, and gives next
// one record whose attributes are the context's, then the groups as nested group attributes.
// The output is the same as next.WithGroup(...).WithAttrs(...) would write, plus the IDs on top.
type handler struct {
	next   slog.Handler // with every WithAttrs given before the first group
	e      *enricher
	top    []slog.Attr // those WithAttrs, kept for OpenTelemetry records only
	groups []group     // open groups, outermost first; nil when none
}

type group struct {
	name  string
	attrs []slog.Attr // given by WithAttrs while this group was the innermost
}

var _ slog.Handler = (*handler)(nil)

// NewHandler returns a handler that adds, to every record logged with a context, that
// context's trace_id, span_id, request_id, request-store fields (otelctx.AddFields) and chosen
// baggage members, then hands it to next; and that gives records the options' side effects
// (span events, error status, hooks). It works over any handler: JSON, text, third-party.
//
// A nil next panics with ErrNilHandler here, not at log time.
func NewHandler(next slog.Handler, opts ...Option) slog.Handler {
	if next == nil {
		panic(ErrNilHandler)
	}
	return &handler{next: next, e: newEnricher(newConfig(opts))}
}

// Enabled reports whether next handles records at lvl.
func (h *handler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return h.next.Enabled(ctx, lvl)
}

// WithAttrs returns a handler whose records carry attrs, in the innermost open group.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		top := h.top
		if h.e.cfg.otel != nil {
			top = append(append([]slog.Attr(nil), h.top...), attrs...)
		}
		return &handler{next: h.next.WithAttrs(attrs), e: h.e, top: top}
	}
	gs := append([]group(nil), h.groups...)
	last := &gs[len(gs)-1]
	last.attrs = append(append([]slog.Attr(nil), last.attrs...), attrs...)
	return &handler{next: h.next, e: h.e, top: h.top, groups: gs}
}

// WithGroup returns a handler that puts the record's attributes, and later WithAttrs, in a
// group called name. The context's attributes stay at the top level. An empty name returns h.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	gs := append(append([]group(nil), h.groups...), group{name: name})
	return &handler{next: h.next, e: h.e, top: h.top, groups: gs}
}

// Handle runs the side effects, emits the OpenTelemetry record (WithLoggerProvider), adds the
// context's attributes and hands the record to next.
// next's error is returned as it is; the side effects have run by then.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if h.e.hasEffects(r.Level) {
		h.e.effects(ctx, r, h.groups)
	}
	lc, n := h.e.g.Gather(ctx)
	if h.e.cfg.otel != nil {
		h.emitOTel(ctx, r, &lc)
	}
	if n == 0 && len(h.groups) == 0 {
		return h.next.Handle(ctx, r)
	}
	var buf [inlineAttrs]slog.Attr
	attrs := h.e.appendTo(buf[:0], &lc)

	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	switch {
	case len(h.groups) != 0:
		if g, ok := h.nest(r); ok {
			attrs = append(attrs, g)
		}
	case len(attrs)+r.NumAttrs() <= len(buf):
		// The record's own attributes join the context's in buf, and the new record takes them
		// all in one AddAttrs call.
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a)
			return true
		})
	default:
		out.AddAttrs(attrs...)
		attrs = attrs[:0]
		r.Attrs(func(a slog.Attr) bool {
			out.AddAttrs(a)
			return true
		})
	}
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

// nest returns the open groups as one group attribute holding, innermost, the record's own
// attributes. A group left with nothing in it is left out, as slog's handlers do.
func (h *handler) nest(r slog.Record) (slog.Attr, bool) {
	inner := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		inner = append(inner, a)
		return true
	})
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		var attrs []slog.Attr
		switch {
		case len(inner) == 0:
			attrs = g.attrs
		case len(g.attrs) == 0:
			attrs = inner
		default:
			attrs = append(append(make([]slog.Attr, 0, len(g.attrs)+len(inner)), g.attrs...), inner...)
		}
		if len(attrs) == 0 {
			inner = nil
			continue
		}
		inner = []slog.Attr{{Key: g.name, Value: slog.GroupValue(attrs...)}}
	}
	if len(inner) == 0 {
		return slog.Attr{}, false
	}
	return inner[0], true
}

// enricher turns a context into attributes and runs the per-record side effects. One is shared
// by a handler and every handler derived from it.
type enricher struct {
	cfg config
	g   *logctx.Gatherer
}

func newEnricher(cfg config) *enricher {
	return &enricher{cfg: cfg, g: logctx.NewGatherer(logctx.Keys{
		TraceID:      cfg.traceIDKey,
		SpanID:       cfg.spanIDKey,
		ParentSpanID: cfg.parentSpanIDKey,
		RequestID:    cfg.requestIDKey,
		Baggage:      cfg.baggage,
	})}
}

// appendTo appends lc's attributes to dst. Strings, bools and numbers do not allocate: the ID
// strings come from the cache and the rest are the context's own values.
func (e *enricher) appendTo(dst []slog.Attr, lc *logctx.Line) []slog.Attr {
	if ids := lc.IDs; ids != nil {
		if k := e.cfg.traceIDKey; k != "" {
			dst = append(dst, slog.String(k, ids.Trace))
		}
		if k := e.cfg.spanIDKey; k != "" {
			dst = append(dst, slog.String(k, ids.Span))
		}
		if k := e.cfg.parentSpanIDKey; k != "" && ids.Parent != "" {
			dst = append(dst, slog.String(k, ids.Parent))
		}
	}
	if lc.RequestID != "" {
		dst = append(dst, slog.String(e.cfg.requestIDKey, lc.RequestID))
	}
	for i, n := 0, lc.Fields.Len(); i < n; i++ {
		dst = append(dst, attrOf(lc.Fields.At(i)))
	}
	if lc.Bag.Len() > 0 {
		for _, k := range e.cfg.baggage {
			if v, ok := lc.Member(k); ok {
				dst = append(dst, slog.String(k, v))
			}
		}
	}
	return dst
}

// hasEffects reports whether a record at lvl has side effects beyond being handled.
func (e *enricher) hasEffects(lvl slog.Level) bool {
	if e.cfg.errorStatus && lvl >= slog.LevelError {
		return true
	}
	if e.cfg.eventLevel != nil && lvl >= e.cfg.eventLevel.Level() {
		return true
	}
	if e.cfg.waterfall != nil {
		return true
	}
	for _, h := range e.cfg.hooks {
		if lvl >= h.level.Level() {
			return true
		}
	}
	return false
}

// effects mirrors the record onto ctx's span and calls the hooks, before next sees the record.
func (e *enricher) effects(ctx context.Context, r slog.Record, groups []group) {
	if ctx == nil {
		ctx = context.Background()
	}
	span := trace.SpanFromContext(ctx)
	if e.cfg.eventLevel != nil && r.Level >= e.cfg.eventLevel.Level() && span.IsRecording() {
		addEvent(span, r, groups)
	}
	if e.cfg.errorStatus && r.Level >= slog.LevelError {
		markError(span, r)
	}
	if e.cfg.waterfall != nil {
		toWaterfall(e.cfg.waterfall, span, r, groups)
	}
	for _, h := range e.cfg.hooks {
		if r.Level >= h.level.Level() {
			h.fn(ctx, r)
		}
	}
}

// attrOf converts a request-store attribute to a slog attribute. Scalars do not allocate.
func attrOf(kv attribute.KeyValue) slog.Attr {
	k := string(kv.Key)
	v := kv.Value
	switch v.Type() {
	case attribute.BOOL:
		return slog.Bool(k, v.AsBool())
	case attribute.INT64:
		return slog.Int64(k, v.AsInt64())
	case attribute.FLOAT64:
		return slog.Float64(k, v.AsFloat64())
	case attribute.STRING:
		return slog.String(k, v.AsString())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE,
		attribute.BYTESLICE, attribute.SLICE:
		return slog.Any(k, v.AsInterface())
	case attribute.MAP:
		m := v.AsMap()
		as := make([]slog.Attr, len(m))
		for i, kv := range m {
			as[i] = attrOf(kv)
		}
		return slog.Attr{Key: k, Value: slog.GroupValue(as...)}
	default: // EMPTY, or a type added to attribute after this was written
		return slog.String(k, v.Emit())
	}
}
