package spans

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span events the waterfall shows as lines: the log lines zapbridge and slogbridge mirror, the
// breadcrumbs of spans/trail (trail.EventName and its keys; spans cannot import trail, which
// imports it, so a test holds these to trail's), and recorded errors.
const (
	logEventName        = "log"
	logMessageKey       = attribute.Key("log.message")
	logSeverityKey      = attribute.Key("log.severity")
	breadcrumbEventName = "breadcrumb"
	breadcrumbLevel     = attribute.Key("breadcrumb.level")
	breadcrumbCategory  = attribute.Key("breadcrumb.category")
	breadcrumbMessage   = attribute.Key("breadcrumb.message")
	exceptionEventName  = "exception"
	exceptionType       = attribute.Key("exception.type")
	exceptionMessage    = attribute.Key("exception.message")
	maxTraceLines       = 512
)

// waterfallOf turns kept spans into what the waterfall draws: the spans and, as lines, their
// log, breadcrumb and exception events in time order.
func waterfallOf(spans []sdktrace.ReadOnlySpan, missed int) waterfall.Trace {
	t := waterfall.Trace{Spans: make([]waterfall.Span, 0, len(spans)), DroppedSpans: missed}
	for _, s := range spans {
		t.Spans = append(t.Spans, waterfall.SpanOf(s))
		sc := s.SpanContext()
		for _, e := range s.Events() {
			l := waterfall.Line{Time: e.Time, TraceID: sc.TraceID(), SpanID: sc.SpanID()}
			var rest []attribute.KeyValue
			switch e.Name {
			case logEventName:
				for _, kv := range e.Attributes {
					switch kv.Key {
					case logMessageKey:
						l.Message = kv.Value.AsString()
					case logSeverityKey:
						l.Level = kv.Value.AsString()
					default:
						if !strings.HasPrefix(string(kv.Key), "code.") { // the caller and stack: noise beside the message
							rest = append(rest, kv)
						}
					}
				}
			case breadcrumbEventName:
				l.Level, l.Message = "crumb", "breadcrumb"
				for _, kv := range e.Attributes {
					switch kv.Key {
					case breadcrumbMessage:
						l.Message = "breadcrumb: " + kv.Value.AsString()
					case breadcrumbLevel, breadcrumbCategory:
					default:
						rest = append(rest, kv)
					}
				}
				for _, kv := range e.Attributes {
					if kv.Key == breadcrumbCategory {
						rest = append([]attribute.KeyValue{kv}, rest...)
					}
				}
			case exceptionEventName:
				l.Level = "error"
				var typ, msg string
				for _, kv := range e.Attributes {
					switch kv.Key {
					case exceptionType:
						typ = kv.Value.AsString()
					case exceptionMessage:
						msg = kv.Value.AsString()
					}
				}
				l.Message = cmp.Or(msg, typ, "exception")
				if typ != "" && msg != "" {
					rest = append(rest, exceptionType.String(typ))
				}
			default:
				continue
			}
			l.Attrs = rest
			t.Lines = append(t.Lines, l)
		}
	}
	slices.SortStableFunc(t.Lines, func(a, b waterfall.Line) int { return a.Time.Compare(b.Time) })
	if len(t.Lines) > maxTraceLines {
		t.DroppedLines = len(t.Lines) - maxTraceLines
		t.Lines = t.Lines[:maxTraceLines]
	}
	return t
}

var tracePage = template.Must(template.New("trace").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trace {{.TraceID}} · spans monitor</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
a { color: #1a5fb4; }
.note { color: #666; }
</style>
</head>
<body>
<p><a id="back" href="?">← spans monitor</a>{{if .Jaeger}} · <a id="jaeger" href="{{.Jaeger}}">open in Jaeger</a>{{end}}</p>
{{if .Found}}{{.Waterfall}}{{else}}<h2>trace <code>{{.TraceID}}</code></h2>
<p class="note" id="not-kept">This process no longer keeps the spans of this trace: the monitor keeps the last
{{.Kept}} example requests, slow and failed ones first.{{if .Jaeger}} The exporter may have sent it to Jaeger.{{end}}</p>{{end}}
</body>
</html>
`))

// serveTrace serves the waterfall of a kept example request: ?trace=<32 hex digits>.
func (m *Monitor) serveTrace(w http.ResponseWriter, r *http.Request, raw string) {
	tid, err := trace.TraceIDFromHex(raw)
	if err != nil {
		http.Error(w, fmt.Sprintf("spans monitor: trace=%q: want a trace ID of 32 hex digits, not all zero", raw), http.StatusBadRequest)
		return
	}
	data := struct {
		TraceID, Jaeger string
		Found           bool
		Kept            int
		Waterfall       template.HTML
	}{TraceID: tid.String(), Kept: m.cfg.keptTraces}
	if m.jaeger != "" {
		data.Jaeger = m.jaeger + "/trace/" + data.TraceID
	}
	spans, missed, ok := m.keptSpans(tid)
	status := http.StatusOK
	if ok && len(spans) > 0 {
		var buf bytes.Buffer
		if err := waterfall.RenderHTML(&buf, waterfallOf(spans, missed), waterfall.HTMLOptions{TraceURL: data.Jaeger}); err != nil {
			http.Error(w, "spans monitor: rendering the waterfall: "+err.Error(), http.StatusInternalServerError)
			return
		}
		data.Found = true
		data.Waterfall = template.HTML(buf.String()) // RenderHTML's output, escaped by its own html/template
	} else {
		status = http.StatusNotFound
	}
	var buf bytes.Buffer
	if err := tracePage.Execute(&buf, data); err != nil {
		http.Error(w, "spans monitor: rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
