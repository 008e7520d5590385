package waterfall

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// HTMLOptions shape RenderHTML's drawing.
type HTMLOptions struct {
	// TraceURL, when set, is where the trace ID links to (a Jaeger UI's /trace/<id>, say). Only
	// http and https URLs become links; html/template refuses the rest.
	TraceURL string
}

// RenderHTML draws t as an HTML fragment: a <section class="ctxtrail-waterfall"> with its own
// styles, the header (trace ID, spans, duration, errors), one table row per span laid out as
// RenderTrace lays it (nested under its parent, a bar for when it ran, ✗ and the reason on spans
// that failed) and the log lines with their offsets. Every name, message and attribute is
// escaped by html/template: the fragment never runs what a span carries. Nothing is written for
// a trace without spans.
func RenderHTML(w io.Writer, t Trace, opt HTMLOptions) error {
	if len(t.Spans) == 0 {
		return nil
	}
	lay := layout(t)
	v := htmlTrace{
		TraceID: clean(t.Spans[0].TraceID, 64), TraceURL: opt.TraceURL,
		Spans: len(t.Spans), Duration: fmtDur(lay.total), Errors: errorCount(lay.errs), Failed: lay.errs > 0,
		DroppedSpans: t.DroppedSpans, DroppedLines: t.DroppedLines, Note: clean(t.Note, maxReasonRunes),
	}
	total := float64(lay.total)
	for _, r := range lay.rows {
		left, width := 0.0, 100.0
		if total > 0 {
			left = float64(r.s.Start.Sub(lay.start)) / total * 100
			width = float64(r.s.Duration()) / total * 100
		}
		left = min(max(left, 0), 100)
		width = min(max(width, 0.3), 100-left) // a visible sliver for the shortest spans
		hs := htmlSpan{
			SpanID: clean(r.s.SpanID, 32), Service: r.service, Name: r.name, Depth: r.depth,
			Indent: fmt.Sprintf("%.1fem", float64(r.depth)*1.2),
			Left:   fmt.Sprintf("%.3f%%", left), Width: fmt.Sprintf("%.3f%%", width),
			Offset: fmtDur(r.s.Start.Sub(lay.start)), Duration: fmtDur(r.s.Duration()),
			Error: r.s.Error, Orphan: r.orphan,
		}
		if r.s.Kind != trace.SpanKindUnspecified && r.s.Kind != trace.SpanKindInternal {
			hs.Kind = r.s.Kind.String()
		}
		if r.s.Error {
			hs.Reason = clean(r.s.Reason(), maxReasonRunes)
		}
		v.Rows = append(v.Rows, hs)
	}
	for _, l := range t.Lines {
		off := max(l.Time.Sub(lay.start), 0)
		hl := htmlLine{
			Offset: "+" + fmtDur(off), Service: clean(lay.service[l.SpanID.String()], maxNameRunes),
			SpanID: l.SpanID.String(), Level: clean(strings.ToLower(l.Level), 12),
			Message: clean(l.Message, maxMessageRunes),
		}
		for i, kv := range l.Attrs {
			if i == maxLineAttrs {
				hl.More = len(l.Attrs) - i
				break
			}
			hl.Attrs = append(hl.Attrs, htmlAttr{Key: clean(string(kv.Key), maxNameRunes), Value: value(kv.Value)})
		}
		v.Lines = append(v.Lines, hl)
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

type htmlTrace struct {
	TraceID, TraceURL          string
	Spans                      int
	Duration, Errors, Note     string
	Failed                     bool
	DroppedSpans, DroppedLines int
	Rows                       []htmlSpan
	Lines                      []htmlLine
}

type htmlSpan struct {
	SpanID, Service, Name, Kind string
	Depth                       int
	Indent, Left, Width         string
	Offset, Duration, Reason    string
	Error, Orphan               bool
}

type htmlLine struct {
	Offset, Service, SpanID, Level, Message string
	Attrs                                   []htmlAttr
	More                                    int
}

type htmlAttr struct{ Key, Value string }

var htmlTemplate = template.Must(template.New("waterfall").Parse(`<section class="ctxtrail-waterfall" data-trace-id="{{.TraceID}}">
<style>
.ctxtrail-waterfall { font: 13px/1.45 system-ui, sans-serif; }
.ctxtrail-waterfall table { border-collapse: collapse; width: 100%; }
.ctxtrail-waterfall td, .ctxtrail-waterfall th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
.ctxtrail-waterfall td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ctxtrail-waterfall td.track { width: 45%; position: relative; }
.ctxtrail-waterfall table.wf-lines { width: auto; }
.ctxtrail-waterfall .bar { position: absolute; top: 4px; bottom: 4px; background: #4a7bd0; border-radius: 2px; }
.ctxtrail-waterfall tr.error .bar { background: #d0453d; }
.ctxtrail-waterfall tr.error td.name { color: #a3231b; }
.ctxtrail-waterfall .svc { color: #666; }
.ctxtrail-waterfall .reason { color: #a3231b; }
.ctxtrail-waterfall .lvl-error, .ctxtrail-waterfall .lvl-fatal { color: #a3231b; font-weight: 600; }
.ctxtrail-waterfall .lvl-warn { color: #9a6700; }
.ctxtrail-waterfall code { font: 12px ui-monospace, monospace; }
.ctxtrail-waterfall .attr { color: #555; }
</style>
<h2 class="wf-header">trace {{if .TraceURL}}<a class="trace-link" href="{{.TraceURL}}"><code>{{.TraceID}}</code></a>{{else}}<code>{{.TraceID}}</code>{{end}}
 · <span class="wf-spans">{{.Spans}} spans</span> · <span class="wf-duration">{{.Duration}}</span> · <span class="wf-errors{{if .Failed}} reason{{end}}">{{.Errors}}</span>
{{if .DroppedSpans}} · +{{.DroppedSpans}} spans not kept{{end}}{{if .Note}} · {{.Note}}{{end}}</h2>
<table class="wf-spans">
<tr><th>service</th><th>span</th><th>start</th><th class="track"></th><th>duration</th><th></th></tr>
{{range .Rows}}<tr class="span{{if .Error}} error{{end}}" data-span-id="{{.SpanID}}" data-depth="{{.Depth}}">
<td class="svc">{{.Service}}</td>
<td class="name" style="padding-left: {{.Indent}}">{{.Name}}{{if .Kind}} <span class="svc">{{.Kind}}</span>{{end}}</td>
<td class="num">+{{.Offset}}</td>
<td class="track"><div class="bar" style="left: {{.Left}}; width: {{.Width}}"></div></td>
<td class="num dur">{{.Duration}}</td>
<td>{{if .Error}}<span class="reason">✗ {{.Reason}}</span>{{end}}</td>
</tr>
{{end}}</table>
{{if .Lines}}<h3>Log lines and breadcrumbs</h3>
<table class="wf-lines">
{{range .Lines}}<tr class="line" data-span-id="{{.SpanID}}"><td class="num">{{.Offset}}</td><td class="svc">{{.Service}}</td><td class="lvl-{{.Level}}">{{.Level}}</td><td class="msg">{{.Message}}{{range .Attrs}} <span class="attr">{{.Key}}={{.Value}}</span>{{end}}{{if .More}} <span class="attr">…(+{{.More}})</span>{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .DroppedLines}}<p class="svc">… {{.DroppedLines}} more log lines not kept</p>{{end}}
</section>
`))
