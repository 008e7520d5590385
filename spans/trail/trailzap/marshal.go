package trailzap

import (
	"time"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"
)

// The objects below write the same fields, in the same order, as trail's MarshalJSON methods;
// the tests hold zap's JSON encoding of them to the same bytes.

// ReportObject returns r as a zap object whose fields are the report's JSON fields (see trail's
// package doc): zap.Inline(trailzap.ReportObject(r)) puts them on a log line, as LogSink does,
// zap.Object("report", trailzap.ReportObject(r)) nests them. A nil r writes no fields.
func ReportObject(r *trail.Report) zapcore.ObjectMarshaler { return (*reportObject)(r) }

// BreadcrumbObject returns b as a zap object, with the fields it has in a report's JSON.
func BreadcrumbObject(b trail.Breadcrumb) zapcore.ObjectMarshaler { return (*crumbObject)(&b) }

// ErrorInfoObject returns e as a zap object, with the fields it has in a report's JSON.
func ErrorInfoObject(e trail.ErrorInfo) zapcore.ObjectMarshaler { return (*errorObject)(&e) }

// FrameObject returns f as a zap object, with the fields it has in a report's JSON.
func FrameObject(f trail.Frame) zapcore.ObjectMarshaler { return (*frameObject)(&f) }

// The object types are conversions of trail's, so that a pointer into a report's slices is
// marshalled without copying or boxing the element.
type (
	reportObject trail.Report
	crumbObject  trail.Breadcrumb
	errorObject  trail.ErrorInfo
	frameObject  trail.Frame
)

func (r *reportObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	if r == nil {
		return nil
	}
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

func (b *crumbObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("timestamp", b.Time.UTC().Format(time.RFC3339Nano))
	enc.AddString("level", b.Level.String())
	enc.AddString("category", b.Category)
	enc.AddString("message", b.Message)
	if len(b.Data) > 0 {
		return enc.AddObject("data", attrs(b.Data))
	}
	return nil
}

func (e *errorObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("type", e.Type)
	enc.AddString("message", e.Message)
	enc.AddInt("depth", e.Depth)
	return nil
}

func (f *frameObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("function", f.Function)
	enc.AddString("file", f.File)
	enc.AddInt("line", f.Line)
	return nil
}

type errorInfos []trail.ErrorInfo

func (es errorInfos) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range es {
		if err := enc.AppendObject((*errorObject)(&es[i])); err != nil {
			return err
		}
	}
	return nil
}

type frames []trail.Frame

func (fs frames) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range fs {
		if err := enc.AppendObject((*frameObject)(&fs[i])); err != nil {
			return err
		}
	}
	return nil
}

type crumbs []trail.Breadcrumb

func (bs crumbs) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range bs {
		if err := enc.AppendObject((*crumbObject)(&bs[i])); err != nil {
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
