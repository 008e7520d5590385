package waterfall

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// Options shape the drawing. The zero value draws 40-column bars.
type Options struct {
	BarWidth int // columns for the duration bar; DefaultBarWidth when zero or less
}

// DefaultBarWidth is the width of the duration bar when Options leaves it unset.
const DefaultBarWidth = 40

// Bounds of what one row shows, so a hostile or careless span name cannot break the layout.
const (
	maxNameRunes    = 60  // a span or service name
	maxReasonRunes  = 160 // the reason after ✗
	maxMessageRunes = 200 // a log line's message
	maxValueRunes   = 120 // one attribute value of a log line
	maxLineAttrs    = 16  // attributes shown per log line
	maxDepth        = 64  // nesting drawn; deeper spans are drawn at this depth
)

// Trace is one trace to draw: its spans, the log lines logged in them, and what was left out.
type Trace struct {
	Spans        []Span
	Lines        []Line
	Note         string // shown in the header, such as why the trace is printed incomplete
	DroppedSpans int    // spans of the trace not kept (a cap)
	DroppedLines int    // lines of the trace not kept (a cap)
}

// Render draws one trace: Render(w, spans, opt) is RenderTrace(w, Trace{Spans: spans}, opt).
func Render(w io.Writer, spans []Span, opt Options) error {
	return RenderTrace(w, Trace{Spans: spans}, opt)
}

// RenderTrace draws t: a header (trace ID, span count, duration, errors), one row per span
// nested under its parent with a bar for when it ran and ✗ and the reason on spans that failed,
// then the log lines, each with its offset from the trace's start. Spans whose parent is not in
// the trace are drawn as roots marked "(parent missing)", so a broken trace shows as broken
// instead of vanishing. Control characters in names and messages are escaped, so every row is
// one line. Nothing is written for a trace without spans.
func RenderTrace(w io.Writer, t Trace, opt Options) error {
	if len(t.Spans) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	drawTrace(bw, t, opt)
	return bw.Flush()
}

// textWriter is what drawing writes to: a bufio.Writer or a bytes.Buffer.
type textWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

type row struct {
	s       Span
	prefix  string
	depth   int
	orphan  bool
	service string
	name    string
}

// traceLayout is a trace laid out for drawing, as text or as HTML: its rows in tree order
// (each span once, children under their parent by start time), its time span and error count.
type traceLayout struct {
	rows    []row
	start   time.Time
	total   time.Duration
	errs    int
	service map[string]string // span ID → service, for the log lines
}

func layout(t Trace) traceLayout {
	spans := t.Spans
	inTrace := make(map[string]bool, len(spans))
	service := make(map[string]string, len(spans))
	start, end := spans[0].Start, spans[0].End
	errs := 0
	for _, s := range spans {
		inTrace[s.SpanID] = true
		service[s.SpanID] = s.Service
		if s.Start.Before(start) {
			start = s.Start
		}
		if s.End.After(end) {
			end = s.End
		}
		if s.Error {
			errs++
		}
	}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range spans {
		if s.ParentID != "" && s.ParentID != s.SpanID && inTrace[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(ss []Span) {
		sort.SliceStable(ss, func(a, b int) bool { return ss[a].Start.Before(ss[b].Start) })
	}
	byStart(roots)

	// Every span is drawn once: a cycle in corrupt input cannot recurse or repeat.
	var rows []row
	drawn := make(map[string]bool, len(spans))
	var walk func(s Span, depth int)
	walk = func(s Span, depth int) {
		prefix := ""
		if depth > 0 {
			prefix = strings.Repeat("  ", min(depth, maxDepth)) + "└ "
		}
		orphan := s.ParentID != "" && !inTrace[s.ParentID]
		rows = append(rows, row{s: s, prefix: prefix, depth: min(depth, maxDepth), orphan: orphan,
			service: clean(s.Service, maxNameRunes), name: clean(s.Name, maxNameRunes)})
		kids := children[s.SpanID]
		byStart(kids)
		for _, k := range kids {
			if !drawn[k.SpanID] {
				drawn[k.SpanID] = true
				walk(k, depth+1)
			}
		}
	}
	for _, r := range roots {
		if !drawn[r.SpanID] {
			drawn[r.SpanID] = true
			walk(r, 0)
		}
	}
	// Spans caught in a cycle have no root to hang from: draw them as roots.
	for _, s := range spans {
		if !drawn[s.SpanID] {
			drawn[s.SpanID] = true
			walk(s, 0)
		}
	}
	for i := range rows {
		if rows[i].orphan {
			rows[i].name += " (parent missing)"
		}
	}
	return traceLayout{rows: rows, start: start, total: end.Sub(start), errs: errs, service: service}
}

func drawTrace(w textWriter, t Trace, opt Options) {
	width := opt.BarWidth
	if width <= 0 {
		width = DefaultBarWidth
	}
	spans := t.Spans
	lay := layout(t)
	rows, start, total, service := lay.rows, lay.start, lay.total, lay.service

	fmt.Fprintf(w, "trace %s  %d spans  %s  %s", clean(spans[0].TraceID, 64), len(spans), fmtDur(total), errorCount(lay.errs))
	if t.DroppedSpans > 0 {
		fmt.Fprintf(w, "  (+%d spans not kept)", t.DroppedSpans)
	}
	if t.Note != "" {
		fmt.Fprintf(w, "  (%s)", clean(t.Note, maxReasonRunes))
	}
	w.WriteByte('\n')

	// Column widths come from what each row prints, counted in runes, so the bars line up.
	svcW, nameW := 0, 0
	for i := range rows {
		r := &rows[i]
		svcW = max(svcW, utf8.RuneCountInString(r.service))
		nameW = max(nameW, utf8.RuneCountInString(r.prefix)+utf8.RuneCountInString(r.name))
	}
	for _, r := range rows {
		w.WriteString("  ")
		pad(w, r.service, svcW)
		w.WriteString("  ")
		pad(w, r.prefix+r.name, nameW)
		w.WriteString(" |")
		w.WriteString(bar(r.s, start, total, width))
		fmt.Fprintf(w, "| %8s", fmtDur(r.s.Duration()))
		if r.s.Error {
			w.WriteString("  ✗")
			if reason := clean(r.s.Reason(), maxReasonRunes); reason != "" {
				w.WriteString(" " + reason)
			}
		}
		w.WriteByte('\n')
	}

	for _, l := range t.Lines {
		drawLine(w, l, start, service, svcW)
	}
	if t.DroppedLines > 0 {
		fmt.Fprintf(w, "    … %d more log lines not kept\n", t.DroppedLines)
	}
}

func drawLine(w textWriter, l Line, start time.Time, service map[string]string, svcW int) {
	off := l.Time.Sub(start)
	if off < 0 {
		off = 0
	}
	fmt.Fprintf(w, "    %8s  ", "+"+fmtDur(off))
	pad(w, clean(service[l.SpanID.String()], maxNameRunes), svcW)
	w.WriteString("  ")
	pad(w, clean(strings.ToLower(l.Level), 8), 5)
	w.WriteString("  ")
	w.WriteString(clean(l.Message, maxMessageRunes))
	if len(l.Attrs) > 0 {
		w.WriteString(" ")
	}
	for i, kv := range l.Attrs {
		if i == maxLineAttrs {
			fmt.Fprintf(w, " …(+%d)", len(l.Attrs)-i)
			break
		}
		w.WriteString(" ")
		w.WriteString(clean(string(kv.Key), maxNameRunes))
		w.WriteString("=")
		w.WriteString(value(kv.Value))
	}
	w.WriteByte('\n')
}

// value writes an attribute value on one line: strings quoted when they hold spaces, quotes,
// '=' or anything unprintable, everything cut to maxValueRunes.
func value(v attribute.Value) string {
	if v.Type() != attribute.STRING {
		return clean(v.Emit(), maxValueRunes)
	}
	s := truncate(v.AsString(), maxValueRunes)
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

func errorCount(n int) string {
	switch n {
	case 0:
		return "ok"
	case 1:
		return "1 error"
	}
	return strconv.Itoa(n) + " errors"
}

// pad writes s and spaces up to width runes.
func pad(w textWriter, s string, width int) {
	w.WriteString(s)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		w.WriteByte(' ')
	}
}

// clean makes s safe for one row: control characters (a newline in a status, say) escaped as
// Go does in a quoted string, invalid UTF-8 replaced, and at most maxRunes runes kept.
func clean(s string, maxRunes int) string {
	s = truncate(s, maxRunes)
	if !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// truncate keeps the first maxRunes runes of s, ending in "…" when it cut.
func truncate(s string, maxRunes int) string {
	if len(s) <= maxRunes { // fewer bytes than the limit: fewer runes too
		return s
	}
	n := 0
	for i := range s {
		if n == maxRunes-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func bar(s Span, start time.Time, total time.Duration, width int) string {
	if total <= 0 {
		return strings.Repeat("█", width)
	}
	from := int(float64(s.Start.Sub(start)) / float64(total) * float64(width))
	to := int(float64(s.End.Sub(start))/float64(total)*float64(width) + 0.999)
	from = min(max(from, 0), width-1)
	to = min(max(to, from+1), width)
	return strings.Repeat(" ", from) + strings.Repeat("█", to-from) + strings.Repeat(" ", width-to)
}

// fmtDur prints a duration in at most six columns, never as 0µs: a span that ran for 400ns
// prints 400ns.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d >= time.Microsecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 0:
		return "<0"
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}

// ByTrace groups spans by trace ID, traces in the order of their earliest span.
func ByTrace(spans []Span) [][]Span {
	idx := map[string]int{}
	var out [][]Span
	for _, s := range spans {
		i, ok := idx[s.TraceID]
		if !ok {
			i = len(out)
			idx[s.TraceID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], s)
	}
	sort.SliceStable(out, func(a, b int) bool { return earliest(out[a]).Before(earliest(out[b])) })
	return out
}

func earliest(spans []Span) time.Time {
	t := spans[0].Start
	for _, s := range spans[1:] {
		if s.Start.Before(t) {
			t = s.Start
		}
	}
	return t
}
