package zapbridge

import (
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zapcore"
)

// WithWaterfall hands every line logged in a span's context to p, the terminal waterfall, which
// prints it under that span's trace: each request's waterfall comes with its own lines. Give it
// the Provider's printer, otelctx.Provider.Waterfall(); a nil p (the waterfall was not chosen)
// does nothing. The line's own fields go with it, not the context's, which would repeat on
// every line. The line is queued, never waited for.
func WithWaterfall(p *waterfall.Printer) Option {
	return optionFunc(func(c config) config { c.waterfall = p; return c })
}

func toWaterfall(p *waterfall.Printer, span trace.Span, ent zapcore.Entry, fields []zapcore.Field) {
	sc := span.SpanContext()
	if !sc.TraceID().IsValid() {
		return
	}
	enc := attrEncoder{kvs: make([]attribute.KeyValue, 0, len(fields))}
	for i := range fields {
		if fields[i].Type == zapcore.SkipType {
			continue
		}
		fields[i].AddTo(&enc)
	}
	p.Log(waterfall.Line{
		Time: ent.Time, TraceID: sc.TraceID(), SpanID: sc.SpanID(),
		Level: ent.Level.String(), Message: ent.Message, Attrs: enc.kvs,
	})
}
