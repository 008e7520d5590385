package waterfall

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestRenderGolden(t *testing.T) {
	ms := time.Millisecond
	spans := []Span{
		{TraceID: "t1", SpanID: "c", ParentID: "b", Service: "payments", Name: "charge", Start: at(4 * ms), End: at(8 * ms), Error: true, StatusMessage: "card declined"},
		{TraceID: "t1", SpanID: "a", Service: "frontend", Name: "GET /checkout", Kind: trace.SpanKindServer, Start: at(0), End: at(10 * ms)},
		{TraceID: "t1", SpanID: "p", ParentID: "a", Service: "frontend", Name: "POST", Kind: trace.SpanKindClient, Start: at(ms), End: at(9500 * time.Microsecond), Error: true, HTTPStatus: 402, ErrorType: "402"},
		{TraceID: "t1", SpanID: "b", ParentID: "p", Service: "orders", Name: "POST /orders", Start: at(2 * ms), End: at(9 * ms)},
		{TraceID: "t1", SpanID: "v", ParentID: "a", Service: "frontend", Name: "validate", Start: at(500 * time.Microsecond), End: at(500*time.Microsecond + 400)},
		{TraceID: "t1", SpanID: "x", ParentID: "gone", Service: "orders", Name: "orphan", Start: at(ms), End: at(2 * ms), Error: true, StatusMessage: "line one\nline two\ttabbed"},
	}
	lines := []Line{
		{Time: at(3 * ms), SpanID: mustSpanID("000000000000000c"), Level: "WARN", Message: "charge declined",
			Attrs: []attribute.KeyValue{attribute.Int("cents", 1500), attribute.String("error", "card declined"), attribute.String("card", "4242")}},
	}
	// The line's span ID is not in the trace: no service.
	var buf bytes.Buffer
	if err := RenderTrace(&buf, Trace{Spans: spans, Lines: lines, DroppedLines: 2}, Options{BarWidth: 10}); err != nil {
		t.Fatal(err)
	}
	want := `trace t1  6 spans  10.0ms  3 errors
  frontend  GET /checkout           |██████████|   10.0ms
  frontend    └ validate            |█         |    400ns
  frontend    └ POST                | █████████|    8.5ms  ✗ 402 Payment Required
  orders        └ POST /orders      |  ███████ |    7.0ms
  payments        └ charge          |    ████  |    4.0ms  ✗ card declined
  orders    orphan (parent missing) | █        |    1.0ms  ✗ line one\nline two\ttabbed
      +3.0ms            warn   charge declined  cents=1500 error="card declined" card=4242
    … 2 more log lines not kept
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// Every bar starts in the same column, whatever the row's name, nesting or marks.
	col := -1
	for _, l := range strings.Split(buf.String(), "\n")[1:7] {
		i := utf8.RuneCountInString(l[:strings.Index(l, "|")])
		if col >= 0 && i != col {
			t.Errorf("bar at column %d, want %d: %q", i, col, l)
		}
		col = i
	}
}

func mustSpanID(s string) trace.SpanID {
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		panic(err)
	}
	return id
}

func TestRenderHostileText(t *testing.T) {
	long := strings.Repeat("é", 500)
	spans := []Span{
		{TraceID: "t\n2", SpanID: "a", Service: "svc\r\nX-Injected: 1", Name: long, Start: at(0), End: at(time.Millisecond), Error: true, StatusMessage: "\x1b[31mred\x1b[0m" + long},
		{TraceID: "t\n2", SpanID: "b", ParentID: "b", Name: "self-parent", Start: at(0), End: at(0)},
		{TraceID: "t\n2", SpanID: "c", ParentID: "d", Name: "cycle c", Start: at(0), End: at(0)},
		{TraceID: "t\n2", SpanID: "d", ParentID: "c", Name: "cycle d", Start: at(0), End: at(0)},
	}
	var buf bytes.Buffer
	if err := Render(&buf, spans, Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(rows) != 5 {
		t.Fatalf("%d rows, want a header and 4 spans, each drawn once:\n%s", len(rows), out)
	}
	if strings.ContainsAny(out, "\r\x1b\t") {
		t.Errorf("control characters reach the terminal:\n%q", out)
	}
	for _, r := range rows {
		if n := utf8.RuneCountInString(r); n > 400 {
			t.Errorf("row of %d runes: %q", n, r)
		}
	}
	if !strings.Contains(rows[1], "…") || !strings.Contains(rows[1], `\x1b[31mred`) {
		t.Errorf("long name not cut or escape not shown: %q", rows[1])
	}
}

func TestFmtDur(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"}, {400, "400ns"}, {999, "999ns"}, {time.Microsecond, "1µs"}, {999 * time.Microsecond, "999µs"},
		{time.Millisecond, "1.0ms"}, {1500 * time.Millisecond, "1.50s"}, {-5, "<0"},
	} {
		if got := fmtDur(tt.d); got != tt.want {
			t.Errorf("fmtDur(%v) = %q, want %q", int64(tt.d), got, tt.want)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Span
		want string
	}{
		{"description wins", Span{StatusMessage: "boom", HTTPStatus: 500, ErrorType: "500"}, "boom"},
		{"client span with a status code", Span{HTTPStatus: 402, ErrorType: "402"}, "402 Payment Required"},
		{"unknown status code", Span{HTTPStatus: 499}, "HTTP 499"},
		{"exception event", Span{Exception: "EOF", ErrorType: "*errors.errorString"}, "EOF"},
		{"error.type only", Span{ErrorType: "timeout"}, "timeout"},
		{"nothing known", Span{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Reason(); got != tt.want {
				t.Errorf("Reason() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestByTraceGroupsInStartOrder(t *testing.T) {
	groups := ByTrace([]Span{
		{TraceID: "b", SpanID: "1", Start: at(time.Second)},
		{TraceID: "a", SpanID: "2", Start: at(0)},
		{TraceID: "b", SpanID: "3", Start: at(2 * time.Second)},
	})
	if len(groups) != 2 || groups[0][0].TraceID != "a" || len(groups[1]) != 2 {
		t.Fatalf("groups %+v", groups)
	}
}

func TestRenderNothing(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, nil, Options{}); err != nil || buf.Len() != 0 {
		t.Fatalf("empty trace wrote %q, %v", buf.String(), err)
	}
}
