// Package waterfall reads spans for the terminal waterfall from where they were written: the
// console exporter's JSON lines (stdouttrace), OTLP JSON, and Jaeger v2's query API. The
// drawing itself is the library's, github.com/ctxtrail/ctxtrail/otelctx/waterfall, which is also
// the live exporter (OTEL_TRACES_EXPORTER=ctxtrail-waterfall); this package only feeds it.
package waterfall

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/trace"
)

// Span is the library's span of a waterfall.
type Span = waterfall.Span

// Options shape the drawing.
type Options = waterfall.Options

// Render draws one trace (the library's waterfall.Render).
func Render(w io.Writer, trace []Span, opt Options) error { return waterfall.Render(w, trace, opt) }

// ByTrace groups spans by trace ID, traces in the order of their earliest span.
func ByTrace(spans []Span) [][]Span { return waterfall.ByTrace(spans) }

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
			SpanKind    int
			SpanContext struct{ TraceID, SpanID string }
			Parent      struct{ SpanID string }
			StartTime   time.Time
			EndTime     time.Time
			Status      struct{ Code, Description string }
			Attributes  []stdoutKV
			Events      []struct {
				Name       string
				Attributes []stdoutKV
			}
			Resource []stdoutKV
		}
		if err := json.Unmarshal(line, &raw); err != nil || raw.SpanContext.SpanID == "" {
			continue
		}
		s := Span{
			TraceID: raw.SpanContext.TraceID, SpanID: raw.SpanContext.SpanID,
			ParentID: raw.Parent.SpanID, Name: raw.Name, Kind: trace.SpanKind(raw.SpanKind),
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
		for _, kv := range raw.Attributes {
			setAttr(&s, kv.Key, kv.Value.Value)
		}
		for _, ev := range raw.Events {
			if ev.Name != "exception" {
				continue
			}
			for _, kv := range ev.Attributes {
				if kv.Key == "exception.message" {
					s.Exception, _ = kv.Value.Value.(string)
				}
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// stdoutKV is an attribute as stdouttrace writes it: {"Key":…,"Value":{"Type":…,"Value":…}}.
type stdoutKV struct {
	Key   string
	Value struct{ Value any }
}

// setAttr keeps the attributes a waterfall shows the reason of a failed span from.
func setAttr(s *Span, key string, v any) {
	switch key {
	case "http.response.status_code":
		switch n := v.(type) {
		case float64:
			s.HTTPStatus = int(n)
		case string: // OTLP JSON writes 64-bit integers as strings
			_ = json.Unmarshal([]byte(n), &s.HTTPStatus)
		}
	case "error.type":
		s.ErrorType, _ = v.(string)
	}
}
