package trail

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The report's JSON is written by the same code that writes its log line (MarshalLogObject),
// through zap's JSON encoder, so the two can never drift apart.

// MarshalLogObject writes the report's fields, as documented in the package doc.
func (r Report) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("id", r.ID)
	enc.AddString("timestamp", r.Time.UTC().Format(time.RFC3339Nano))
	enc.AddString("message", r.Message)
	if r.Panic {
		enc.AddBool("panic", true)
	}
	if err := enc.AddArray("errors", errorInfos(r.Errors)); err != nil {
		return err
	}
	if r.Truncated {
		enc.AddBool("errors_truncated", true)
	}
	if r.StackSource != "" {
		enc.AddString("stack_source", r.StackSource)
	}
	if len(r.Stack) > 0 {
		if err := enc.AddArray("stack", frames(r.Stack)); err != nil {
			return err
		}
	}
	if r.TraceID != "" {
		enc.AddString("trace_id", r.TraceID)
		enc.AddString("span_id", r.SpanID)
	}
	if r.RequestID != "" {
		enc.AddString("request_id", r.RequestID)
	}
	if len(r.Context) > 0 {
		if err := enc.AddObject("context", attrs(r.Context)); err != nil {
			return err
		}
	}
	if err := enc.AddArray("breadcrumbs", crumbs(r.Breadcrumbs)); err != nil {
		return err
	}
	if r.BreadcrumbsDropped > 0 {
		enc.AddInt("breadcrumbs_dropped", r.BreadcrumbsDropped)
	}
	return nil
}

// MarshalJSON writes the report as one JSON object, documented in the package doc.
func (r Report) MarshalJSON() ([]byte, error) { return marshalJSON(r) }

// MarshalLogObject writes the breadcrumb's fields.
func (b Breadcrumb) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("timestamp", b.Time.UTC().Format(time.RFC3339Nano))
	enc.AddString("level", b.Level.String())
	enc.AddString("category", b.Category)
	enc.AddString("message", b.Message)
	if len(b.Data) > 0 {
		return enc.AddObject("data", attrs(b.Data))
	}
	return nil
}

// MarshalJSON writes the breadcrumb as a JSON object, as it appears in a report.
func (b Breadcrumb) MarshalJSON() ([]byte, error) { return marshalJSON(b) }

// MarshalLogObject writes the error's fields.
func (e ErrorInfo) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("type", e.Type)
	enc.AddString("message", e.Message)
	enc.AddInt("depth", e.Depth)
	return nil
}

// MarshalLogObject writes the frame's fields.
func (f Frame) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("function", f.Function)
	enc.AddString("file", f.File)
	enc.AddInt("line", f.Line)
	return nil
}

// MarshalJSON writes the frame as a JSON object, as it appears in a report.
func (f Frame) MarshalJSON() ([]byte, error) { return marshalJSON(f) }

func marshalJSON(m zapcore.ObjectMarshaler) ([]byte, error) {
	// An encoder config with no level, time or message key writes the fields alone.
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{})
	buf, err := enc.EncodeEntry(zapcore.Entry{}, []zapcore.Field{zap.Inline(m)})
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	out := buf.Bytes()
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return append([]byte(nil), out...), nil
}

type errorInfos []ErrorInfo

func (es errorInfos) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range es {
		if err := enc.AppendObject(&es[i]); err != nil { // a pointer: no copy boxed per element
			return err
		}
	}
	return nil
}

type frames []Frame

func (fs frames) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range fs {
		if err := enc.AppendObject(&fs[i]); err != nil {
			return err
		}
	}
	return nil
}

type crumbs []Breadcrumb

func (bs crumbs) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range bs {
		if err := enc.AppendObject(&bs[i]); err != nil {
			return err
		}
	}
	return nil
}

// attrs writes attributes as an object keyed by attribute key, values in their own JSON type.
type attrs []attribute.KeyValue

func (kvs attrs) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, kv := range kvs {
		key := string(kv.Key)
		switch v := kv.Value; v.Type() {
		case attribute.BOOL:
			enc.AddBool(key, v.AsBool())
		case attribute.INT64:
			enc.AddInt64(key, v.AsInt64())
		case attribute.FLOAT64:
			enc.AddFloat64(key, v.AsFloat64())
		case attribute.STRING:
			enc.AddString(key, v.AsString())
		case attribute.BOOLSLICE:
			_ = enc.AddArray(key, zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
				for _, x := range v.AsBoolSlice() {
					ae.AppendBool(x)
				}
				return nil
			}))
		case attribute.INT64SLICE:
			_ = enc.AddArray(key, zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
				for _, x := range v.AsInt64Slice() {
					ae.AppendInt64(x)
				}
				return nil
			}))
		case attribute.FLOAT64SLICE:
			_ = enc.AddArray(key, zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
				for _, x := range v.AsFloat64Slice() {
					ae.AppendFloat64(x)
				}
				return nil
			}))
		case attribute.STRINGSLICE:
			_ = enc.AddArray(key, zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
				for _, x := range v.AsStringSlice() {
					ae.AppendString(x)
				}
				return nil
			}))
		default:
			enc.AddString(key, v.String())
		}
	}
	return nil
}
