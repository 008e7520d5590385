package zapbridge

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.uber.org/zap/zapcore"
)

// ScopeName is the instrumentation scope of the OpenTelemetry logger WithLoggerProvider uses.
const ScopeName = logctx.OTelScope + "zapbridge"

// MaxValueLen bounds, in bytes, a string value copied into an OpenTelemetry log record: a longer
// one is cut at a UTF-8 boundary. What the wrapped core writes is not changed.
const MaxValueLen = logctx.MaxValueLen

// maxRecordAttributes bounds the attributes of one OpenTelemetry log record; the SDK's own
// limits apply after this.
const maxRecordAttributes = 64

// WithLoggerProvider also emits every line the wrapped core is given as an OpenTelemetry log
// record through lp (ctxtrail.Provider.LoggerProvider(), or any provider): the span's trace ID,
// span ID and flags on the record itself, the severity mapped from the level (Debug 5, Info 9,
// Warn 13, Error 17, DPanic 21, Panic 22, Fatal 23), the message as the body, the caller and
// stack as code.* attributes when the logger records them, and as attributes the request ID,
// the request-store fields, the chosen baggage members, the fields given to With and the line's
// own fields (string values cut at MaxValueLen; zap's scalar, string, time, duration and error
// fields convert without reflection). The SDK's batch processor queues the record; with
// otelctx's pipeline a full queue drops and counts it, so the logging goroutine never waits for
// the exporter. With otelctx's provider, a record whose attribute keys the bridge finds unique
// skips the SDK's own duplicate-key check (what is exported is the same). A provider that is not
// enabled when the option is applied is ignored. What the wrapped core writes does not change. A
// nil lp is ignored.
func WithLoggerProvider(lp log.LoggerProvider) Option {
	return optionFunc(func(c config) config {
		if lp == nil {
			return c
		}
		// A provider with nowhere to send records (otelctx with no log exporter, an SDK
		// provider without processors) is skipped here, so the option then costs nothing.
		if l := lp.Logger(ScopeName); l.Enabled(context.Background(), log.EnabledParameters{}) {
			c.otel, c.otelUnique = l, nil
			if u, ok := lp.(logctx.UniqueKeysProvider); ok {
				c.otelUnique = u.UniqueKeysLogger(ScopeName)
			}
		}
		return c
	})
}

func severity(l zapcore.Level) log.Severity {
	switch l {
	case zapcore.DebugLevel:
		return log.SeverityDebug
	case zapcore.InfoLevel:
		return log.SeverityInfo
	case zapcore.WarnLevel:
		return log.SeverityWarn
	case zapcore.ErrorLevel:
		return log.SeverityError
	case zapcore.DPanicLevel:
		return log.SeverityFatal1
	case zapcore.PanicLevel:
		return log.SeverityFatal2
	case zapcore.FatalLevel:
		return log.SeverityFatal3
	}
	if l < zapcore.DebugLevel {
		return log.SeverityTrace
	}
	return log.SeverityFatal4
}

// otelInline is how many attributes a record gets without a heap allocation in the bridge.
const otelInline = 10

// emitOTel emits a line as an OpenTelemetry log record. with are the fields given to With,
// fields the line's own; lc is ctx's gathered context.
func (e *enricher) emitOTel(ctx context.Context, ent zapcore.Entry, with, fields []zapcore.Field, lc *logctx.Line) {
	if ctx == nil {
		ctx = context.Background()
	}
	var rec log.Record
	rec.SetTimestamp(ent.Time)
	if !ent.Time.IsZero() {
		// Observed now, as the record is made: the SDK would otherwise read the clock again.
		rec.SetObservedTimestamp(ent.Time)
	}
	rec.SetSeverity(severity(ent.Level))
	rec.SetSeverityText(severityText(ent.Level))
	rec.SetBody(attribute.StringValue(logctx.Bound(ent.Message)))

	var buf [otelInline]attribute.KeyValue
	kvs := e.g.AppendOTel(buf[:0], lc)
	if ent.Caller.Defined {
		kvs = append(kvs,
			semconv.CodeFilePath(ent.Caller.File),
			semconv.CodeLineNumber(ent.Caller.Line),
			semconv.CodeFunctionName(ent.Caller.Function),
		)
	}
	if ent.Stack != "" {
		kvs = append(kvs, semconv.CodeStacktrace(logctx.Bound(ent.Stack)))
	}
	kvs = appendFields(kvs, with)
	kvs = appendFields(kvs, fields)
	rec.AddAttributes(kvs...)
	l := e.cfg.otel
	if e.cfg.otelUnique != nil && logctx.UniqueKeys(kvs) {
		l = e.cfg.otelUnique // the SDK's duplicate-key check would find nothing
	}
	l.Emit(ctx, rec)
}

// appendFields appends fields as attributes: the common types directly, the rest through
// attrEncoder (arrays, objects and reflected values as JSON). A Namespace field prefixes the
// keys of the fields after it, as zap's encoders nest them.
func appendFields(dst []attribute.KeyValue, fields []zapcore.Field) []attribute.KeyValue {
	prefix := ""
	for i := range fields {
		if len(dst) >= maxRecordAttributes {
			break
		}
		f := &fields[i]
		k := attribute.Key(prefix + f.Key)
		switch f.Type {
		case zapcore.SkipType:
		case zapcore.NamespaceType:
			prefix += f.Key + "."
		case zapcore.StringType:
			dst = append(dst, k.String(logctx.Bound(f.String)))
		case zapcore.BoolType:
			dst = append(dst, k.Bool(f.Integer == 1))
		case zapcore.Int64Type, zapcore.Int32Type, zapcore.Int16Type, zapcore.Int8Type:
			dst = append(dst, k.Int64(f.Integer))
		case zapcore.Uint32Type, zapcore.Uint16Type, zapcore.Uint8Type:
			dst = append(dst, k.Int64(f.Integer))
		case zapcore.Uint64Type, zapcore.UintptrType:
			if u := uint64(f.Integer); u > math.MaxInt64 { // no unsigned attribute type: exact text
				dst = append(dst, k.String(strconv.FormatUint(u, 10)))
			} else {
				dst = append(dst, k.Int64(int64(u)))
			}
		case zapcore.Float64Type:
			dst = append(dst, k.Float64(math.Float64frombits(uint64(f.Integer))))
		case zapcore.Float32Type:
			dst = append(dst, k.Float64(float64(math.Float32frombits(uint32(f.Integer)))))
		case zapcore.DurationType:
			dst = append(dst, k.String(time.Duration(f.Integer).String()))
		case zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok {
				dst = append(dst, k.String(logctx.Bound(errorText(err))))
			}
		default:
			// A fresh encoder, so that dst (often a caller's stack buffer) never escapes.
			enc := attrEncoder{prefix: prefix}
			f.AddTo(&enc)
			for _, kv := range enc.kvs {
				dst = append(dst, logctx.BoundValue(kv))
			}
		}
	}
	return dst
}

// errorText is err's message; a nil pointer behind the interface reads "<nil>", as zap writes it.
func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = "<nil>"
		}
	}()
	return err.Error()
}
