package waterfall

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/html"
)

func TestRenderHTML(t *testing.T) {
	ms := time.Millisecond
	hostile := `<img src=x onerror="alert(1)">`
	spans := []Span{
		{TraceID: "t1", SpanID: "c", ParentID: "b", Service: "payments", Name: "charge", Start: at(4 * ms), End: at(8 * ms), Error: true, StatusMessage: "card declined"},
		{TraceID: "t1", SpanID: "a", Service: "frontend", Name: "GET /checkout", Kind: trace.SpanKindServer, Start: at(0), End: at(10 * ms)},
		{TraceID: "t1", SpanID: "b", ParentID: "a", Service: "orders", Name: hostile, Start: at(2 * ms), End: at(9 * ms)},
	}
	lines := []Line{{Time: at(5 * ms), SpanID: mustSpanID("000000000000000c"), Level: "ERROR", Message: "declined " + hostile,
		Attrs: []attribute.KeyValue{attribute.Int("cents", 1500)}}}
	var buf bytes.Buffer
	if err := RenderHTML(&buf, Trace{Spans: spans, Lines: lines}, HTMLOptions{TraceURL: "javascript:alert(2)"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<img") || strings.Contains(out, "javascript:") {
		t.Fatalf("input written unescaped or a script URL linked:\n%s", out)
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	type got struct{ name, depth, left, width, reason string }
	var rows []got
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" && attr(n, "data-depth") != "" {
			g := got{depth: attr(n, "data-depth")}
			var cells func(*html.Node)
			cells = func(c *html.Node) {
				if c.Type == html.ElementNode {
					switch {
					case c.Data == "td" && attr(c, "class") == "name":
						g.name = strings.TrimSpace(nodeText(c.FirstChild))
					case c.Data == "div" && attr(c, "class") == "bar":
						g.left, g.width = attr(c, "style"), ""
					case c.Data == "span" && attr(c, "class") == "reason":
						g.reason = nodeText(c)
					}
				}
				for k := c.FirstChild; k != nil; k = k.NextSibling {
					cells(k)
				}
			}
			cells(n)
			rows = append(rows, g)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	want := []got{
		{name: "GET /checkout", depth: "0", left: "left: 0.000%; width: 100.000%"},
		{name: hostile, depth: "1", left: "left: 20.000%; width: 70.000%"},
		{name: "charge", depth: "2", left: "left: 40.000%; width: 40.000%", reason: "✗ card declined"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	for _, s := range []string{"3 spans", "10.0ms", "1 error", "&#43;5.0ms", "payments", "cents=1500", "declined &lt;img"} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in\n%s", s, out)
		}
	}
	buf.Reset()
	if err := RenderHTML(&buf, Trace{Spans: spans}, HTMLOptions{TraceURL: "http://127.0.0.1:16686/trace/t1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `href="http://127.0.0.1:16686/trace/t1"`) {
		t.Error("no link to the trace")
	}
	buf.Reset()
	if err := RenderHTML(&buf, Trace{}, HTMLOptions{}); err != nil || buf.Len() != 0 {
		t.Errorf("empty trace wrote %q, %v", buf.String(), err)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func nodeText(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
	}
	return b.String()
}
