package zapbridge

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// enricher turns a context into log fields and runs the per-line side effects (span events,
// error status, hooks). One is shared by a Logger or core and everything derived from it.
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

// gather reads ctx and returns at most how many fields appendTo will add.
func (e *enricher) gather(ctx context.Context) (logctx.Line, int) { return e.g.Gather(ctx) }

// appendTo appends the fields of lc to dst. Nothing here allocates for string, bool and number
// values: the ID strings come from the cache and the rest are the context's own strings.
func (e *enricher) appendTo(dst []zapcore.Field, lc *logctx.Line) []zapcore.Field {
	if ids := lc.IDs; ids != nil {
		if k := e.cfg.traceIDKey; k != "" {
			dst = append(dst, zap.String(k, ids.Trace))
		}
		if k := e.cfg.spanIDKey; k != "" {
			dst = append(dst, zap.String(k, ids.Span))
		}
		if k := e.cfg.parentSpanIDKey; k != "" && ids.Parent != "" {
			dst = append(dst, zap.String(k, ids.Parent))
		}
	}
	if lc.RequestID != "" {
		dst = append(dst, zap.String(e.cfg.requestIDKey, lc.RequestID))
	}
	for i, n := 0, lc.Fields.Len(); i < n; i++ {
		dst = append(dst, attrField(lc.Fields.At(i)))
	}
	if lc.Bag.Len() > 0 {
		for _, k := range e.cfg.baggage {
			if v, ok := lc.Member(k); ok {
				dst = append(dst, zap.String(k, v))
			}
		}
	}
	return dst
}

// fieldsFor returns ctx's fields followed by a copy of fields, in a slice made for the purpose.
// It always copies, so that the caller's variadic slice never escapes and stays on its stack.
func (e *enricher) fieldsFor(ctx context.Context, fields []zapcore.Field) []zapcore.Field {
	lc, n := e.gather(ctx)
	return e.fieldsWith(&lc, n, fields)
}

// fieldsWith is fieldsFor for a context already gathered.
func (e *enricher) fieldsWith(lc *logctx.Line, n int, fields []zapcore.Field) []zapcore.Field {
	if n+len(fields) == 0 {
		return nil
	}
	out := make([]zapcore.Field, 0, n+len(fields))
	out = e.appendTo(out, lc)
	return append(out, fields...)
}

// hasEffects reports whether a line at lvl has side effects beyond being written.
func (e *enricher) hasEffects(lvl zapcore.Level) bool {
	if e.cfg.errorStatus && lvl >= zapcore.ErrorLevel {
		return true
	}
	if e.cfg.eventLevel != nil && e.cfg.eventLevel.Enabled(lvl) {
		return true
	}
	if e.cfg.waterfall != nil {
		return true
	}
	for _, h := range e.cfg.hooks {
		if h.level.Enabled(lvl) {
			return true
		}
	}
	return false
}

// effects mirrors the line onto ctx's span and calls the hooks. fields are the line's own
// fields, without the context's. It runs before the line is written, so that a Panic or Fatal
// line still marks its span.
func (e *enricher) effects(ctx context.Context, ent zapcore.Entry, fields []zapcore.Field) {
	if ctx == nil {
		ctx = context.Background()
	}
	span := trace.SpanFromContext(ctx)
	if e.cfg.eventLevel != nil && e.cfg.eventLevel.Enabled(ent.Level) && span.IsRecording() {
		addEvent(span, ent, fields)
	}
	if e.cfg.errorStatus && ent.Level >= zapcore.ErrorLevel {
		markError(span, ent)
	}
	if e.cfg.waterfall != nil {
		toWaterfall(e.cfg.waterfall, span, ent, fields)
	}
	for _, h := range e.cfg.hooks {
		if h.level.Enabled(ent.Level) {
			h.fn(ctx, ent)
		}
	}
}

// attrField converts a request-store attribute to a zap field. Scalars do not allocate; slices
// and maps (rare in a request store) allocate their marshaler.
func attrField(kv attribute.KeyValue) zapcore.Field {
	k := string(kv.Key)
	v := kv.Value
	switch v.Type() {
	case attribute.BOOL:
		return zap.Bool(k, v.AsBool())
	case attribute.INT64:
		return zap.Int64(k, v.AsInt64())
	case attribute.FLOAT64:
		return zap.Float64(k, v.AsFloat64())
	case attribute.STRING:
		return zap.String(k, v.AsString())
	case attribute.BOOLSLICE:
		return zap.Bools(k, v.AsBoolSlice())
	case attribute.INT64SLICE:
		return zap.Int64s(k, v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return zap.Float64s(k, v.AsFloat64Slice())
	case attribute.STRINGSLICE:
		return zap.Strings(k, v.AsStringSlice())
	case attribute.BYTESLICE:
		return zap.Binary(k, v.AsByteSlice())
	case attribute.SLICE:
		return zap.Array(k, valueArray(v.AsSlice()))
	case attribute.MAP:
		return zap.Object(k, valueObject(v.AsMap()))
	default: // EMPTY, or a type added to attribute after this was written
		return zap.String(k, v.String())
	}
}

// valueArray writes an attribute SLICE value as a JSON array.
type valueArray []attribute.Value

func (a valueArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, v := range a {
		switch v.Type() {
		case attribute.BOOL:
			enc.AppendBool(v.AsBool())
		case attribute.INT64:
			enc.AppendInt64(v.AsInt64())
		case attribute.FLOAT64:
			enc.AppendFloat64(v.AsFloat64())
		case attribute.STRING:
			enc.AppendString(v.AsString())
		case attribute.SLICE:
			if err := enc.AppendArray(valueArray(v.AsSlice())); err != nil {
				return err
			}
		case attribute.MAP:
			if err := enc.AppendObject(valueObject(v.AsMap())); err != nil {
				return err
			}
		default:
			enc.AppendString(v.String())
		}
	}
	return nil
}

// valueObject writes an attribute MAP value as a JSON object.
type valueObject []attribute.KeyValue

func (o valueObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, kv := range o {
		attrField(kv).AddTo(enc)
	}
	return nil
}
