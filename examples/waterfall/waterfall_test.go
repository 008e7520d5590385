package waterfall

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRenderNestsChildrenAndMarksErrors(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	spans := []Span{
		{TraceID: "t1", SpanID: "c", ParentID: "b", Service: "payments", Name: "charge", Start: ms(4), End: ms(8), Error: true, StatusMessage: "card declined"},
		{TraceID: "t1", SpanID: "a", Service: "frontend", Name: "GET /checkout", Start: ms(0), End: ms(10)},
		{TraceID: "t1", SpanID: "b", ParentID: "a", Service: "orders", Name: "POST /orders", Start: ms(2), End: ms(9)},
		{TraceID: "t1", SpanID: "x", ParentID: "gone", Service: "orders", Name: "orphan", Start: ms(1), End: ms(2)},
	}
	var buf bytes.Buffer
	if err := Render(&buf, spans, Options{BarWidth: 10}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[0], "trace t1  4 spans  10.0ms  1 error(s)") {
		t.Errorf("header %q", lines[0])
	}
	order := []string{"GET /checkout", "└ POST /orders", "└ charge", "orphan (parent missing)"}
	for i, want := range order {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("line %d %q, want %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[1], "|██████████|") {
		t.Errorf("root bar not full: %q", lines[1])
	}
	if !strings.Contains(lines[3], "✗ card declined") || strings.Contains(lines[2], "✗") {
		t.Errorf("error marks wrong:\n%s", buf.String())
	}
	if strings.Index(lines[3], "└") <= strings.Index(lines[2], "└") {
		t.Errorf("grandchild not indented under child:\n%s", buf.String())
	}
}

func TestReadJSONLinesSkipsNoise(t *testing.T) {
	in := `not json
{"Name":"op","SpanContext":{"TraceID":"aa","SpanID":"01"},"Parent":{"SpanID":"0000000000000000"},"Status":{"Code":"Error","Description":"x"},"Resource":[{"Key":"service.name","Value":{"Type":"STRING","Value":"svc"}}]}
{"level":"info","msg":"a log line"}
{broken`
	spans, err := ReadJSONLines(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].Service != "svc" || spans[0].ParentID != "" || !spans[0].Error {
		t.Fatalf("spans %+v", spans)
	}
}

func TestByTraceGroupsInStartOrder(t *testing.T) {
	t0 := time.Now()
	groups := ByTrace([]Span{
		{TraceID: "b", SpanID: "1", Start: t0.Add(time.Second)},
		{TraceID: "a", SpanID: "2", Start: t0},
		{TraceID: "b", SpanID: "3", Start: t0.Add(2 * time.Second)},
	})
	if len(groups) != 2 || groups[0][0].TraceID != "a" || len(groups[1]) != 2 {
		t.Fatalf("groups %+v", groups)
	}
}
