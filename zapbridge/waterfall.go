package zapbridge

import (
	"reflect"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zapcore"
)

// LineWriter is where WithWaterfall sends lines: the terminal waterfall's *waterfall.Printer
// (ctxtrail's Provider.Waterfall()) is one. An interface, so that this package does not compile
// the waterfall and the SDK it draws from.
type LineWriter interface {
	WriteLine(t time.Time, traceID trace.TraceID, spanID trace.SpanID, level, message string, attrs []attribute.KeyValue)
}

// WithWaterfall hands every line logged in a span's context to p, the terminal waterfall, which
// prints it under that span's trace: each request's waterfall comes with its own lines. Give it
// the Provider's printer, ctxtrail's Provider.Waterfall(); a nil p (the waterfall was not chosen)
// does nothing. The line's own fields go with it, not the context's, which would repeat on
// every line. The line is queued, never waited for.
func WithWaterfall(p LineWriter) Option {
	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
		p = nil // Provider.Waterfall() when the waterfall was not chosen: no work per line
	}
	return optionFunc(func(c config) config { c.waterfall = p; return c })
}

func toWaterfall(p LineWriter, span trace.Span, ent zapcore.Entry, fields []zapcore.Field) {
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
	p.WriteLine(ent.Time, sc.TraceID(), sc.SpanID(), ent.Level.String(), ent.Message, enc.kvs)
}
