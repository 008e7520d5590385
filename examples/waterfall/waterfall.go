// Package waterfall draws traces as trees in the terminal: service, span name, nesting under the
// parent, a bar for when the span ran and for how long, and a mark on spans that failed. It
// reads the JSON lines of ctxtrail's console exporter (stdouttrace).
package waterfall

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Span is what the waterfall needs of a span.
type Span struct {
	TraceID, SpanID, ParentID string
	Service, Name             string
	Start, End                time.Time
	Error                     bool
	StatusMessage             string
}

// Duration returns how long the span ran.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// maxLine bounds one JSON line, so a corrupt file cannot make the reader grow without end.
const maxLine = 4 << 20

// ReadJSONLines reads spans written by the console exporter, one JSON object per line. Lines that
// are not spans (log lines interleaved on stdout, say) are skipped.
func ReadJSONLines(r io.Reader) ([]Span, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Span
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var raw struct {
			Name        string
			SpanContext struct{ TraceID, SpanID string }
			Parent      struct{ SpanID string }
			StartTime   time.Time
			EndTime     time.Time
			Status      struct{ Code, Description string }
			Resource    []struct {
				Key   string
				Value struct{ Value any }
			}
		}
		if err := json.Unmarshal(line, &raw); err != nil || raw.SpanContext.SpanID == "" {
			continue
		}
		s := Span{
			TraceID: raw.SpanContext.TraceID, SpanID: raw.SpanContext.SpanID,
			ParentID: raw.Parent.SpanID, Name: raw.Name,
			Start: raw.StartTime, End: raw.EndTime,
			Error: raw.Status.Code == "Error", StatusMessage: raw.Status.Description,
		}
		if s.ParentID == "0000000000000000" {
			s.ParentID = ""
		}
		for _, kv := range raw.Resource {
			if kv.Key == "service.name" {
				s.Service, _ = kv.Value.Value.(string)
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
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

// Options shape the drawing. The zero value draws 40-column bars.
type Options struct {
	BarWidth int // columns for the duration bar; 40 when zero
}

// Render draws one trace. Spans whose parent is not in the trace are drawn as roots, marked
// "(parent missing)", so a broken trace shows as broken instead of vanishing.
func Render(w io.Writer, trace []Span, opt Options) error {
	if len(trace) == 0 {
		return nil
	}
	width := opt.BarWidth
	if width <= 0 {
		width = 40
	}
	byID := map[string]bool{}
	children := map[string][]Span{}
	var roots []Span
	start, end := trace[0].Start, trace[0].End
	errors := 0
	for _, s := range trace {
		byID[s.SpanID] = true
		if s.Start.Before(start) {
			start = s.Start
		}
		if s.End.After(end) {
			end = s.End
		}
		if s.Error {
			errors++
		}
	}
	for _, s := range trace {
		if s.ParentID != "" && byID[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(ss []Span) {
		sort.SliceStable(ss, func(a, b int) bool { return ss[a].Start.Before(ss[b].Start) })
	}
	byStart(roots)
	total := end.Sub(start)
	status := "ok"
	if errors > 0 {
		status = fmt.Sprintf("%d error(s)", errors)
	}
	if _, err := fmt.Fprintf(w, "trace %s  %d spans  %s  %s\n", trace[0].TraceID, len(trace), fmtDur(total), status); err != nil {
		return err
	}

	// Column widths come from the rows, so names line up.
	type row struct {
		s      Span
		prefix string
	}
	var rows []row
	var walk func(s Span, prefix string, depth int)
	walk = func(s Span, prefix string, depth int) {
		rows = append(rows, row{s, prefix})
		kids := children[s.SpanID]
		byStart(kids)
		for _, k := range kids {
			if depth > 64 { // a cycle in corrupt input must not recurse forever
				break
			}
			walk(k, strings.Repeat("  ", depth+1)+"└ ", depth+1)
		}
	}
	for _, r := range roots {
		walk(r, "", 0)
	}
	svcW, nameW := 0, 0
	for _, r := range rows {
		svcW = max(svcW, len(r.s.Service))
		nameW = max(nameW, len(r.prefix)+len([]rune(r.s.Name)))
	}
	for _, r := range rows {
		name := r.prefix + r.s.Name
		if r.s.ParentID != "" && !byID[r.s.ParentID] {
			name += " (parent missing)"
		}
		mark := ""
		if r.s.Error {
			mark = "  ✗ " + r.s.StatusMessage
		}
		if _, err := fmt.Fprintf(w, "  %-*s  %-*s |%s| %8s%s\n", svcW, r.s.Service, nameW, name,
			bar(r.s, start, total, width), fmtDur(r.s.Duration()), mark); err != nil {
			return err
		}
	}
	return nil
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

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}
