package spans

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/cdp"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/html"
)

// servedMonitor returns a monitor with a request span, a child active for an hour (a leak) and
// a fresh child, served by a real HTTP server on 127.0.0.1.
func servedMonitor(t *testing.T, extraNames ...string) (*Monitor, *httptest.Server, map[string]trace.Span) {
	t.Helper()
	m := NewMonitor(WithLeakThreshold(time.Minute))
	tracer := newMonitored(t, m)
	spans := map[string]trace.Span{}
	ctx, req := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(time.Now().Add(-2*time.Hour)))
	spans["GET /orders"] = req
	_, spans["db.query orders"] = tracer.Start(ctx, "db.query orders", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(time.Now().Add(-time.Hour)))
	_, spans["render"] = tracer.Start(ctx, "render")
	for _, n := range extraNames {
		_, spans[n] = tracer.Start(ctx, n)
	}
	_, done := tracer.Start(ctx, "finished")
	done.End()
	srv := httptest.NewServer(m)
	t.Cleanup(func() {
		srv.Close()
		for _, s := range spans {
			s.End()
		}
	})
	return m, srv, spans
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestMonitorServesJSON(t *testing.T) {
	_, srv, spans := servedMonitor(t)
	tests := []struct {
		name   string
		query  string
		header http.Header
	}{
		{name: "format=json", query: "?format=json"},
		{name: "Accept", header: http.Header{"Accept": {"application/json"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.query, tt.header)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var page pageData
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			if page.Stats.Created != 4 || page.Stats.Ended != 1 || page.Stats.Active != 3 || page.Stats.Leaks != 2 {
				t.Fatalf("stats = %+v, want created 4 ended 1 active 3 leaks 2", page.Stats)
			}
			if len(page.Active) != 3 {
				t.Fatalf("active = %d spans, want 3", len(page.Active))
			}
			wantOrder := []string{"GET /orders", "db.query orders", "render"} // oldest first
			for i, a := range page.Active {
				s := spans[a.Name]
				if a.Name != wantOrder[i] {
					t.Errorf("active[%d] = %q, want %q", i, a.Name, wantOrder[i])
				}
				if s == nil || a.SpanID != s.SpanContext().SpanID().String() || a.TraceID != s.SpanContext().TraceID().String() {
					t.Errorf("active[%d] IDs = %s/%s, want the span's", i, a.TraceID, a.SpanID)
				}
				wantParent := ""
				if a.Name != "GET /orders" {
					wantParent = spans["GET /orders"].SpanContext().SpanID().String()
				}
				if a.ParentSpanID != wantParent {
					t.Errorf("%s: parent = %q, want %q", a.Name, a.ParentSpanID, wantParent)
				}
				if a.Leak != (a.Name != "render") {
					t.Errorf("%s: leak = %v", a.Name, a.Leak)
				}
			}
			if len(page.Leaks) != 2 || page.Leaks[0].Name != "GET /orders" {
				t.Errorf("leaks = %+v, want the two old spans", page.Leaks)
			}
			if !strings.Contains(body, `"kind":"server"`) || !strings.Contains(body, `"sampled_out":0`) {
				t.Errorf("JSON lacks readable kinds or sampled_out: %s", body)
			}
		})
	}
	resp, body := get(t, srv.URL+"?format=json&limit=1", nil)
	var page pageData
	if err := json.Unmarshal([]byte(body), &page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("limit=1: status %d, %v", resp.StatusCode, err)
	}
	if len(page.Active) != 1 || page.Active[0].Name != "GET /orders" || page.Limit != 1 {
		t.Fatalf("limit=1: active = %+v, want the oldest span only", page.Active)
	}
}

func TestMonitorRejectsBadRequests(t *testing.T) {
	_, srv, _ := servedMonitor(t)
	tests := []struct {
		name   string
		method string
		query  string
		status int
		want   string
	}{
		{name: "POST", method: http.MethodPost, status: http.StatusMethodNotAllowed, want: "not allowed"},
		{name: "limit not a number", method: http.MethodGet, query: "?limit=lots", status: http.StatusBadRequest, want: `limit="lots"`},
		{name: "limit zero", method: http.MethodGet, query: "?limit=0", status: http.StatusBadRequest, want: "positive integer"},
		{name: "unknown format", method: http.MethodGet, query: "?format=xml", status: http.StatusBadRequest, want: "want json or html"},
		{name: "huge limit is capped", method: http.MethodGet, query: "?limit=99999999999", status: http.StatusOK, want: "<html"},
		{name: "HEAD", method: http.MethodHead, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("status %d body %q, want %d containing %q", resp.StatusCode, body, tt.status, tt.want)
			}
			if tt.method == http.MethodHead && len(body) != 0 {
				t.Fatalf("HEAD returned a body of %d bytes", len(body))
			}
		})
	}
}

func TestMonitorPageEscapesNames(t *testing.T) {
	_, srv, _ := servedMonitor(t, `<script>alert("x")</script>`)
	_, body := get(t, srv.URL, nil)
	if strings.Contains(body, `<script>alert`) || strings.Count(body, "<script") != 2 {
		t.Fatal("a span name was written into the page unescaped")
	}
	if !strings.Contains(body, `\u003cscript\u003ealert`) {
		t.Fatal("the span name is not escaped in the page's script data")
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Fatal("the escaped span name is missing from the page")
	}
}

// TestMonitorPageShowsActiveList reads the active list from the served HTML, parsed with
// golang.org/x/net/html, and from the DOM headless Chromium builds of the page when the machine
// has it (Debian's chromium package).
func TestMonitorPageShowsActiveList(t *testing.T) {
	_, srv, spans := servedMonitor(t)
	t.Run("parsed", func(t *testing.T) {
		resp, body := get(t, srv.URL, nil)
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
		checkActiveList(t, body, spans)
	})
	t.Run("chromium", func(t *testing.T) {
		if _, err := os.Stat(cdp.ChromiumPath); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but no %s: .ci/run must install chromium", cdp.ChromiumPath)
			}
			t.Skipf("no %s (apt-get install chromium): the parsed check above stands alone", cdp.ChromiumPath)
		}
		t.Logf("rendering with headless %s", cdp.ChromiumPath)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cdp.ChromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
			"--user-data-dir="+t.TempDir(), "--dump-dom", srv.URL)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
		checkActiveList(t, string(out), spans)
	})
}

func checkActiveList(t *testing.T, dom string, spans map[string]trace.Span) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	active := findByID(doc, "active")
	if active == nil {
		t.Fatalf("no table#active in the DOM:\n%s", dom)
	}
	rows := tableRows(active)
	if len(rows) != 4 { // header + 3 active spans
		t.Fatalf("table#active has %d rows, want a header and 3 spans", len(rows))
	}
	want := []struct {
		name string
		leak bool
	}{{"GET /orders", true}, {"db.query orders", true}, {"render", false}}
	for i, w := range want {
		r := rows[i+1]
		cells := r.cells
		if len(cells) < 6 || cells[0] != w.name {
			t.Fatalf("row %d = %v, want %q first", i+1, cells, w.name)
		}
		if r.leak != w.leak {
			t.Errorf("row %q: marked leak = %v, want %v", w.name, r.leak, w.leak)
		}
		if cells[5] != spans[w.name].SpanContext().SpanID().String() {
			t.Errorf("row %q: span ID cell %q, want %s", w.name, cells[5], spans[w.name].SpanContext().SpanID())
		}
	}
	if leaks := findByID(doc, "leaks"); leaks == nil || len(tableRows(leaks)) != 3 {
		t.Error("table#leaks missing or not listing the two leaks")
	}
	if n := findByID(doc, "leak-count"); n == nil || !strings.HasPrefix(text(n), "2 ") {
		t.Error("leak count missing or wrong")
	}
}

type row struct {
	cells []string
	leak  bool
}

func findByID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findByID(c, id); f != nil {
			return f
		}
	}
	return nil
}

func tableRows(table *html.Node) []row {
	var rows []row
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			r := row{}
			for _, a := range n.Attr {
				if a.Key == "class" && strings.Contains(a.Val, "leak") {
					r.leak = true
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					r.cells = append(r.cells, strings.TrimSpace(text(c)))
				}
			}
			rows = append(rows, r)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(table)
	return rows
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
