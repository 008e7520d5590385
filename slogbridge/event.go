package slogbridge

import (
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Span event for a mirrored record: the same name and keys as zapbridge's.
const (
	eventName      = "log"
	logMessageKey  = attribute.Key("log.message")
	logSeverityKey = attribute.Key("log.severity")
)

// Bounds on what a record puts on a span event. The SDK's own span limits apply after these.
const (
	maxEventAttributes = 64
	// MaxValueLen bounds, in bytes, a string value that slogbridge copies out of a record (span
	// events, OpenTelemetry log records): a longer one is cut at a UTF-8 boundary. The record
	// handed to the next handler is not changed.
	MaxValueLen = logctx.MaxValueLen
)

func addEvent(span trace.Span, r slog.Record, groups []group) {
	kvs := make([]attribute.KeyValue, 0, 5+r.NumAttrs())
	kvs = append(kvs,
		logMessageKey.String(bound(r.Message)),
		logSeverityKey.String(SeverityText(r.Level)),
	)
	if r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		if f.Function != "" {
			kvs = append(kvs,
				semconv.CodeFunctionName(f.Function),
				semconv.CodeFilePath(f.File),
				semconv.CodeLineNumber(f.Line),
			)
		}
	}
	kvs = appendRecord(kvs, r, groups)
	span.AddEvent(eventName, trace.WithTimestamp(r.Time), trace.WithAttributes(kvs...))
}

// appendRecord appends the open groups' attributes and the record's own, under the groups'
// dotted prefix.
func appendRecord(dst []attribute.KeyValue, r slog.Record, groups []group) []attribute.KeyValue {
	prefix := ""
	for _, g := range groups {
		prefix += g.name + "."
		for _, a := range g.attrs {
			dst = appendAttr(dst, prefix, a)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		dst = appendAttr(dst, prefix, a)
		return len(dst) < maxEventAttributes
	})
	return dst
}

func markError(span trace.Span, r slog.Record) {
	span.SetStatus(codes.Error, bound(r.Message))
}

// SeverityText maps a slog level to OpenTelemetry severity text: DEBUG, INFO, WARN, ERROR, with
// the offset from the level below when it is not exact ("WARN+2"), as slog.Level.String does.
func SeverityText(l slog.Level) string {
	return l.String()
}

// appendAttr appends a as attributes to dst, for span events and OpenTelemetry records: groups
// flatten into dotted keys, scalars keep their type, anything else becomes its text. At most
// maxEventAttributes in all. It returns dst rather than keep it in a struct, so that a caller's
// stack buffer stays on the stack.
func appendAttr(dst []attribute.KeyValue, prefix string, a slog.Attr) []attribute.KeyValue {
	if len(dst) >= maxEventAttributes {
		return dst
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range v.Group() {
			dst = appendAttr(dst, p, ga)
		}
		return dst
	}
	if a.Key == "" {
		return dst
	}
	k := attribute.Key(prefix + a.Key)
	switch v.Kind() {
	case slog.KindString:
		return append(dst, k.String(bound(v.String())))
	case slog.KindInt64:
		return append(dst, k.Int64(v.Int64()))
	case slog.KindUint64:
		if u := v.Uint64(); u <= 1<<63-1 {
			return append(dst, k.Int64(int64(u)))
		} else { // attributes have no unsigned type; keep the exact value as text
			return append(dst, k.String(strconv.FormatUint(u, 10)))
		}
	case slog.KindFloat64:
		return append(dst, k.Float64(v.Float64()))
	case slog.KindBool:
		return append(dst, k.Bool(v.Bool()))
	case slog.KindDuration:
		return append(dst, k.String(v.Duration().String()))
	case slog.KindTime:
		return append(dst, k.String(v.Time().Format(time.RFC3339Nano)))
	default:
		return append(dst, k.String(bound(anyText(v.Any()))))
	}
}

// anyText is the text of a value of no slog kind: an error's message, a Stringer's String, and
// fmt's %+v only for the rest.
func anyText(v any) (s string) {
	defer func() {
		if p := recover(); p != nil { // a nil pointer behind an error or Stringer
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case []byte:
		return string(x)
	}
	return fmt.Sprintf("%+v", v)
}

// bound cuts s to MaxValueLen bytes at a rune boundary.
func bound(s string) string { return logctx.Bound(s) }
