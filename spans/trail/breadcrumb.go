package trail

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/internal/attrbuf"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// EventName is the name of the span event every breadcrumb is recorded as.
const EventName = "breadcrumb"

// Attribute keys of the breadcrumb span event. The crumb's data follows them under its own keys.
const (
	LevelKey    = attribute.Key("breadcrumb.level")
	CategoryKey = attribute.Key("breadcrumb.category")
	MessageKey  = attribute.Key("breadcrumb.message")
)

// DefaultCategory is the category of a breadcrumb that names none.
const DefaultCategory = "default"

// LogCategory is the category of the breadcrumbs added for log lines (SlogBreadcrumb,
// trailzap.LogBreadcrumb).
const LogCategory = "log"

// Breadcrumb is one step of a request's trail: what happened, when, how severe, and a few
// attributes. Zero fields are filled in when it is added: Time with the current time, Level with
// LevelInfo, Category with DefaultCategory.
type Breadcrumb struct {
	Time     time.Time
	Level    Level
	Category string
	Message  string
	Data     []attribute.KeyValue
}

// AddBreadcrumb adds an info breadcrumb with the given message and data to the trail in ctx and
// records it as an event on the span in ctx. On a context without a trail (see Start) it still
// records the span event and keeps nothing: there is no global trail to fall back on.
func AddBreadcrumb(ctx context.Context, message string, data ...attribute.KeyValue) {
	Add(ctx, Breadcrumb{Message: message, Data: data})
}

// Add adds b to the trail in ctx and records it as an event on the span in ctx, after the
// trail's BeforeBreadcrumb filter (which may change or drop it) and the bounds: message and
// category cut to MaxMessageLen bytes, at most MaxData data attributes, the trail's count and
// byte caps. It is safe to call from any goroutine holding a context of the request, such as a
// task started with spans.Go. b.Data is copied; the caller may reuse it.
func Add(ctx context.Context, b Breadcrumb) {
	if ctx == nil {
		return
	}
	t := FromContext(ctx)
	span := trace.SpanFromContext(ctx)
	recording := span.IsRecording()
	keep := t.keeps()
	if !recording && !keep {
		return
	}
	b = normalize(b)
	if t != nil && t.cfg.before != nil {
		b.Data = append([]attribute.KeyValue(nil), b.Data...)
		var ok bool
		if b, ok = t.cfg.before(ctx, b); !ok {
			return
		}
		b = normalize(b)
	}
	b.Message = boundString(b.Message, MaxMessageLen)
	b.Category = boundString(b.Category, MaxMessageLen)
	if recording {
		// The event's attributes and options come from a pooled buffer when the span copies
		// them (the SDK's does); the kept crumb gets its own copy of the bounded data.
		buf := attrbuf.For(span)
		attrs := append(buf.Attrs(), LevelKey.String(b.Level.String()), CategoryKey.String(b.Category), MessageKey.String(b.Message))
		attrs = appendData(attrs, b.Data)
		opts := append(buf.Event[:0], trace.WithTimestamp(b.Time), buf.WithAttributes(attrs))
		span.AddEvent(EventName, opts...)
		if keep {
			b.Data = cloneData(attrs[eventAttrs:])
			t.add(b)
		}
		buf.Release()
		return
	}
	b.Data = appendData(make([]attribute.KeyValue, 0, min(len(b.Data), MaxData)), b.Data)
	if len(b.Data) == 0 {
		b.Data = nil
	}
	t.add(b)
}

// cloneData copies a crumb's bounded data into a slice of its own, nil for none.
func cloneData(data []attribute.KeyValue) []attribute.KeyValue {
	if len(data) == 0 {
		return nil
	}
	return append(make([]attribute.KeyValue, 0, len(data)), data...)
}

func normalize(b Breadcrumb) Breadcrumb {
	if b.Time.IsZero() {
		b.Time = time.Now()
	}
	if b.Level == 0 {
		b.Level = LevelInfo
	}
	if b.Category == "" {
		b.Category = DefaultCategory
	}
	return b
}

// appendData appends data to dst within the package's limits: at most MaxData valid attributes,
// string values cut to MaxMessageLen bytes of valid UTF-8.
func appendData(dst, data []attribute.KeyValue) []attribute.KeyValue {
	n := 0
	for _, kv := range data {
		if n == MaxData {
			break
		}
		if !kv.Valid() {
			continue
		}
		if kv.Value.Type() == attribute.STRING {
			if s := kv.Value.AsString(); len(s) > MaxMessageLen || !utf8.ValidString(s) {
				kv = kv.Key.String(boundString(s, MaxMessageLen))
			}
		}
		dst = append(dst, kv)
		n++
	}
	return dst
}

// eventAttrs is how many attributes a breadcrumb's span event has before the crumb's data.
const eventAttrs = 3

// crumbOverhead is the fixed cost charged per crumb against the byte cap: the timestamp,
// level and slice headers it keeps.
const crumbOverhead = 64

// crumbSize is what a crumb costs against a trail's byte cap.
func crumbSize(b Breadcrumb) int {
	n := crumbOverhead + len(b.Message) + len(b.Category)
	for _, kv := range b.Data {
		n += len(kv.Key) + valueSize(kv.Value)
	}
	return n
}

func valueSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.STRING:
		return len(v.AsString())
	case attribute.STRINGSLICE:
		n := 0
		for _, s := range v.AsStringSlice() {
			n += len(s) + 16
		}
		return n
	case attribute.BOOLSLICE:
		return len(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return 8 * len(v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return 8 * len(v.AsFloat64Slice())
	}
	return 8
}

// boundString returns s as valid UTF-8 of at most n bytes, cut at a rune boundary.
func boundString(s string, n int) string {
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		if len(s) > n { // replacement runes are 3 bytes: cut again
			return boundString(s, n)
		}
	}
	return s
}
