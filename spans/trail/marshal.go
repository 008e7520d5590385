package trail

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// The report's JSON is written by hand rather than by encoding/json so that it stays the shape
// documented in the package doc (field order, optional fields left out) and escapes strings
// as zap's JSON encoder does: package trailzap writes the same fields into log lines, and its
// tests hold the two to the same bytes.

// MarshalJSON writes the report as one JSON object, documented in the package doc.
func (r Report) MarshalJSON() ([]byte, error) {
	return appendReport(make([]byte, 0, 512+256*len(r.Breadcrumbs)), &r), nil
}

// MarshalJSON writes the breadcrumb as a JSON object, as it appears in a report.
func (b Breadcrumb) MarshalJSON() ([]byte, error) { return appendCrumb(nil, &b), nil }

// MarshalJSON writes the frame as a JSON object, as it appears in a report.
func (f Frame) MarshalJSON() ([]byte, error) { return appendFrame(nil, &f), nil }

func appendReport(dst []byte, r *Report) []byte {
	dst = appendKey(append(dst, '{'), "id")
	dst = appendString(dst, r.ID)
	dst = appendTime(appendKey(append(dst, ','), "timestamp"), r.Time)
	dst = appendString(appendKey(append(dst, ','), "message"), r.Message)
	if r.Panic {
		dst = append(appendKey(append(dst, ','), "panic"), "true"...)
	}
	dst = append(appendKey(append(dst, ','), "errors"), '[')
	for i := range r.Errors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendErrorInfo(dst, &r.Errors[i])
	}
	dst = append(dst, ']')
	if r.Truncated {
		dst = append(appendKey(append(dst, ','), "errors_truncated"), "true"...)
	}
	if r.StackSource != "" {
		dst = appendString(appendKey(append(dst, ','), "stack_source"), r.StackSource)
	}
	if len(r.Stack) > 0 {
		dst = append(appendKey(append(dst, ','), "stack"), '[')
		for i := range r.Stack {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendFrame(dst, &r.Stack[i])
		}
		dst = append(dst, ']')
	}
	if r.TraceID != "" {
		dst = appendString(appendKey(append(dst, ','), "trace_id"), r.TraceID)
		dst = appendString(appendKey(append(dst, ','), "span_id"), r.SpanID)
	}
	if r.RequestID != "" {
		dst = appendString(appendKey(append(dst, ','), "request_id"), r.RequestID)
	}
	if len(r.Context) > 0 {
		dst = appendAttrs(appendKey(append(dst, ','), "context"), r.Context)
	}
	dst = append(appendKey(append(dst, ','), "breadcrumbs"), '[')
	for i := range r.Breadcrumbs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCrumb(dst, &r.Breadcrumbs[i])
	}
	dst = append(dst, ']')
	if r.BreadcrumbsDropped > 0 {
		dst = strconv.AppendInt(appendKey(append(dst, ','), "breadcrumbs_dropped"), int64(r.BreadcrumbsDropped), 10)
	}
	return append(dst, '}')
}

func appendErrorInfo(dst []byte, e *ErrorInfo) []byte {
	dst = appendString(appendKey(append(dst, '{'), "type"), e.Type)
	dst = appendString(appendKey(append(dst, ','), "message"), e.Message)
	dst = strconv.AppendInt(appendKey(append(dst, ','), "depth"), int64(e.Depth), 10)
	return append(dst, '}')
}

func appendFrame(dst []byte, f *Frame) []byte {
	dst = appendString(appendKey(append(dst, '{'), "function"), f.Function)
	dst = appendString(appendKey(append(dst, ','), "file"), f.File)
	dst = strconv.AppendInt(appendKey(append(dst, ','), "line"), int64(f.Line), 10)
	return append(dst, '}')
}

func appendCrumb(dst []byte, b *Breadcrumb) []byte {
	dst = appendTime(appendKey(append(dst, '{'), "timestamp"), b.Time)
	dst = appendString(appendKey(append(dst, ','), "level"), b.Level.String())
	dst = appendString(appendKey(append(dst, ','), "category"), b.Category)
	dst = appendString(appendKey(append(dst, ','), "message"), b.Message)
	if len(b.Data) > 0 {
		dst = appendAttrs(appendKey(append(dst, ','), "data"), b.Data)
	}
	return append(dst, '}')
}

// appendAttrs writes attributes as an object keyed by attribute key, values in their own JSON
// type.
func appendAttrs(dst []byte, kvs []attribute.KeyValue) []byte {
	dst = append(dst, '{')
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKey(dst, string(kv.Key))
		switch v := kv.Value; v.Type() {
		case attribute.BOOL:
			dst = strconv.AppendBool(dst, v.AsBool())
		case attribute.INT64:
			dst = strconv.AppendInt(dst, v.AsInt64(), 10)
		case attribute.FLOAT64:
			dst = appendFloat(dst, v.AsFloat64())
		case attribute.STRING:
			dst = appendString(dst, v.AsString())
		case attribute.BOOLSLICE:
			dst = appendArray(dst, v.AsBoolSlice(), strconv.AppendBool)
		case attribute.INT64SLICE:
			dst = appendArray(dst, v.AsInt64Slice(), func(dst []byte, x int64) []byte { return strconv.AppendInt(dst, x, 10) })
		case attribute.FLOAT64SLICE:
			dst = appendArray(dst, v.AsFloat64Slice(), appendFloat)
		case attribute.STRINGSLICE:
			dst = appendArray(dst, v.AsStringSlice(), appendString)
		default:
			dst = appendString(dst, v.String())
		}
	}
	return append(dst, '}')
}

func appendArray[T any](dst []byte, xs []T, appendOne func([]byte, T) []byte) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendOne(dst, x)
	}
	return append(dst, ']')
}

// appendFloat writes f as zap does: NaN and the infinities, which JSON has no number for, as
// the strings "NaN", "+Inf" and "-Inf".
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendTime writes t in UTC as an RFC 3339 string with nanoseconds, which needs no escaping.
func appendTime(dst []byte, t time.Time) []byte {
	return append(t.UTC().AppendFormat(append(dst, '"'), time.RFC3339Nano), '"')
}

func appendKey(dst []byte, key string) []byte {
	return append(appendString(dst, key), ':')
}

// appendString writes s as a JSON string the way zap's JSON encoder does: quotes, backslashes
// and control characters escaped, invalid UTF-8 replaced by \ufffd, everything else as is.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(append(dst, s[last:i]...), `\ufffd`...)
			i++
			last = i
			continue
		}
		if c >= 0x20 && c != '\\' && c != '"' {
			i++
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		last = i
	}
	return append(append(dst, s[last:]...), '"')
}
