package zapbridge

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zapcore"
)

// Span event for a mirrored log line. The name and the log.* keys are the ones the OpenTelemetry
// log bridges have long used for logs-as-span-events (log.severity holds the OpenTelemetry
// severity text); caller and stack use the code.* semantic conventions.
const (
	eventName      = "log"
	logMessageKey  = attribute.Key("log.message")
	logSeverityKey = attribute.Key("log.severity")
	logLoggerKey   = attribute.Key("log.logger")
)

// maxEventAttributes bounds the attributes of one span event; the SDK's own span limits apply
// after this.
const maxEventAttributes = 64

func addEvent(span trace.Span, ent zapcore.Entry, fields []zapcore.Field) {
	enc := attrEncoder{kvs: make([]attribute.KeyValue, 0, 6+len(fields))}
	enc.kvs = append(enc.kvs,
		logMessageKey.String(ent.Message),
		logSeverityKey.String(severityText(ent.Level)),
	)
	if ent.LoggerName != "" {
		enc.kvs = append(enc.kvs, logLoggerKey.String(ent.LoggerName))
	}
	if ent.Caller.Defined {
		enc.kvs = append(enc.kvs,
			semconv.CodeFunctionName(ent.Caller.Function),
			semconv.CodeFilePath(ent.Caller.File),
			semconv.CodeLineNumber(ent.Caller.Line),
		)
	}
	if ent.Stack != "" {
		enc.kvs = append(enc.kvs, semconv.CodeStacktrace(ent.Stack))
	}
	for i := range fields {
		if fields[i].Type == zapcore.SkipType {
			continue
		}
		fields[i].AddTo(&enc)
	}
	span.AddEvent(eventName, trace.WithTimestamp(ent.Time), trace.WithAttributes(enc.kvs...))
}

func markError(span trace.Span, ent zapcore.Entry) {
	span.SetStatus(codes.Error, ent.Message)
}

// severityText maps zap levels to OpenTelemetry severity text, as the contrib otelzap bridge
// maps them to severity numbers.
func severityText(l zapcore.Level) string {
	switch l {
	case zapcore.DebugLevel:
		return "DEBUG"
	case zapcore.InfoLevel:
		return "INFO"
	case zapcore.WarnLevel:
		return "WARN"
	case zapcore.ErrorLevel:
		return "ERROR"
	case zapcore.DPanicLevel, zapcore.PanicLevel, zapcore.FatalLevel:
		return "FATAL"
	default:
		return l.CapitalString()
	}
}

// attrEncoder is a zapcore.ObjectEncoder that turns zap fields into span event attributes.
// Nested objects and namespaces flatten into dotted keys; arrays and reflected values become
// JSON strings.
type attrEncoder struct {
	kvs    []attribute.KeyValue
	prefix string
}

var _ zapcore.ObjectEncoder = (*attrEncoder)(nil)

func (e *attrEncoder) add(kv attribute.KeyValue) {
	if len(e.kvs) < maxEventAttributes {
		e.kvs = append(e.kvs, kv)
	}
}

func (e *attrEncoder) key(k string) string {
	if e.prefix == "" {
		return k
	}
	return e.prefix + k
}

func (e *attrEncoder) AddArray(key string, m zapcore.ArrayMarshaler) error {
	enc := zapcore.NewMapObjectEncoder()
	if err := enc.AddArray(key, m); err != nil {
		return err
	}
	b, err := json.Marshal(enc.Fields[key])
	if err != nil {
		return fmt.Errorf("zapbridge: array %q: %w", key, err)
	}
	e.add(attribute.String(e.key(key), string(b)))
	return nil
}

func (e *attrEncoder) AddObject(key string, m zapcore.ObjectMarshaler) error {
	inner := attrEncoder{kvs: e.kvs, prefix: e.key(key) + "."}
	err := m.MarshalLogObject(&inner)
	e.kvs = inner.kvs
	return err
}

func (e *attrEncoder) AddBinary(key string, v []byte) {
	e.add(attribute.String(e.key(key), base64.StdEncoding.EncodeToString(v)))
}
func (e *attrEncoder) AddByteString(key string, v []byte) {
	e.add(attribute.String(e.key(key), string(v)))
}
func (e *attrEncoder) AddBool(key string, v bool) { e.add(attribute.Bool(e.key(key), v)) }
func (e *attrEncoder) AddComplex128(key string, v complex128) {
	e.add(attribute.String(e.key(key), strconv.FormatComplex(v, 'g', -1, 128)))
}
func (e *attrEncoder) AddComplex64(key string, v complex64) {
	e.add(attribute.String(e.key(key), strconv.FormatComplex(complex128(v), 'g', -1, 64)))
}
func (e *attrEncoder) AddDuration(key string, v time.Duration) {
	e.add(attribute.String(e.key(key), v.String()))
}
func (e *attrEncoder) AddFloat64(key string, v float64) { e.add(attribute.Float64(e.key(key), v)) }
func (e *attrEncoder) AddFloat32(key string, v float32) {
	e.add(attribute.Float64(e.key(key), float64(v)))
}
func (e *attrEncoder) AddInt(key string, v int)     { e.add(attribute.Int(e.key(key), v)) }
func (e *attrEncoder) AddInt64(key string, v int64) { e.add(attribute.Int64(e.key(key), v)) }
func (e *attrEncoder) AddInt32(key string, v int32) { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddInt16(key string, v int16) { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddInt8(key string, v int8)   { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddString(key, v string)      { e.add(attribute.String(e.key(key), v)) }
func (e *attrEncoder) AddTime(key string, v time.Time) {
	e.add(attribute.String(e.key(key), v.Format(time.RFC3339Nano)))
}
func (e *attrEncoder) AddUint(key string, v uint) { e.AddUint64(key, uint64(v)) }
func (e *attrEncoder) AddUint64(key string, v uint64) {
	if v > math.MaxInt64 { // attributes have no unsigned type; keep the exact value as text
		e.add(attribute.String(e.key(key), strconv.FormatUint(v, 10)))
		return
	}
	e.add(attribute.Int64(e.key(key), int64(v)))
}
func (e *attrEncoder) AddUint32(key string, v uint32)   { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddUint16(key string, v uint16)   { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddUint8(key string, v uint8)     { e.add(attribute.Int64(e.key(key), int64(v))) }
func (e *attrEncoder) AddUintptr(key string, v uintptr) { e.AddUint64(key, uint64(v)) }

func (e *attrEncoder) AddReflected(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("zapbridge: reflected %q: %w", key, err)
	}
	e.add(attribute.String(e.key(key), string(b)))
	return nil
}

func (e *attrEncoder) OpenNamespace(key string) { e.prefix = e.key(key) + "." }
