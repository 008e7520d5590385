package zapbridge

import (
	"context"

	"go.uber.org/zap/zapcore"
)

// core wraps a zapcore.Core and turns Context fields into the context's fields.
//
// It adds itself, not the wrapped core, to the CheckedEntry, and asks the wrapped core's Check
// again at write time. That keeps the wrapped core's own decision (a tee's per-core levels, a
// sampler) and keeps the enrichment to the wrapped core: siblings in an outer tee see the line
// as it was logged.
type core struct {
	inner zapcore.Core
	e     *enricher
	ctx   context.Context // from With(Context(ctx)): whose span gets events; nil when none
	with  []zapcore.Field // fields given to With, kept for OpenTelemetry records (and for New)
}

var _ zapcore.Core = (*core)(nil)

// NewCore wraps inner so that a Context(ctx) field, given to a line or to With, becomes ctx's
// trace_id, span_id, request_id, request-store fields and chosen baggage, and so that lines get
// the options' side effects (span events, error status, hooks). It works over any core: JSON,
// console, a tee, a sampler. A nil inner is a no-op core.
//
// Given to With, Context is read once, at With time, and its fields are baked into the child
// core; a line that carries its own Context field as well gets both sets.
func NewCore(inner zapcore.Core, opts ...Option) zapcore.Core {
	return newCore(inner, newEnricher(newConfig(opts)))
}

func newCore(inner zapcore.Core, e *enricher) *core {
	if inner == nil {
		inner = zapcore.NewNopCore()
	}
	return &core{inner: inner, e: e}
}

// Enabled reports whether the wrapped core logs lvl.
func (c *core) Enabled(lvl zapcore.Level) bool { return c.inner.Enabled(lvl) }

// Level reports the wrapped core's minimum level.
func (c *core) Level() zapcore.Level { return zapcore.LevelOf(c.inner) }

// Sync flushes the wrapped core.
func (c *core) Sync() error { return c.inner.Sync() }

// With returns a child core holding fields. A Context field among them is expanded here, once.
func (c *core) With(fields []zapcore.Field) zapcore.Core {
	// Kept even without WithLoggerProvider: New over this core's logger may emit records, and
	// the wrapped core has encoded the fields where nothing can read them back.
	clone := &core{inner: c.inner, e: c.e, ctx: c.ctx,
		with: append(append([]zapcore.Field(nil), c.with...), fields...)}
	ctx, i, done := contextIn(fields)
	if i < 0 || done {
		clone.inner = c.inner.With(fields)
		return clone
	}
	out := c.enriched(ctx, fields, i)
	clone.inner = c.inner.With(out)
	if ctx != nil {
		clone.ctx = ctx
	}
	return clone
}

// Check adds this core when the wrapped core is enabled for the entry's level; the wrapped
// core's full Check runs in Write.
func (c *core) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.inner.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write enriches fields and hands the line to the wrapped core, if its Check accepts it.
// Errors of the wrapped core go to the WithErrorOutput writer, as zap's own do.
func (c *core) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	ice := c.inner.Check(ent, nil)
	if ice == nil {
		return nil
	}
	ice.ErrorOutput = c.e.cfg.errorOutput
	ctx, i, done := contextIn(fields)
	if done {
		// An outer bridge core has enriched and mirrored this line already.
		ice.Write(fields...)
		return nil
	}
	out := fields
	if i >= 0 {
		out = c.enriched(ctx, fields, i)
	}
	if ctx == nil {
		ctx = c.ctx
	}
	if c.e.hasEffects(ent.Level) {
		c.e.effects(ctx, ent, fields)
	}
	if c.e.cfg.otel != nil {
		lc, _ := c.e.gather(ctx)
		c.e.emitOTel(ctx, ent, c.with, fields, &lc)
	}
	ice.Write(out...)
	return nil
}

// enriched returns ctx's fields followed by fields, with the Context field at index i marked
// as done.
func (c *core) enriched(ctx context.Context, fields []zapcore.Field, i int) []zapcore.Field {
	lc, n := c.e.gather(ctx)
	out := make([]zapcore.Field, 0, n+len(fields))
	out = c.e.appendTo(out, &lc)
	base := len(out)
	out = append(out, fields...)
	out[base+i].Key = contextDoneKey
	return out
}
