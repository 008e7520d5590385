package spans

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ctxtrail/ctxtrail/internal/latency"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// request ends a server span named route that took d, with a child span, ending now.
func request(tracer trace.Tracer, route string, d time.Duration, failed bool) trace.Span {
	end := time.Now()
	ctx, s := tracer.Start(context.Background(), route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(end.Add(-d)))
	_, c := tracer.Start(ctx, "db.query", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(end.Add(-d/2)))
	c.End(trace.WithTimestamp(end.Add(-d / 4)))
	if failed {
		s.SetStatus(codes.Error, "boom")
	}
	s.End(trace.WithTimestamp(end))
	return s
}

func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// The latency table's figures against the exact ones of a known distribution, through the SDK:
// counts, error rate, p50/p95/p99 within 2 %, impact shares, buckets, and examples whose
// spans are kept.
func TestMonitorLatencyTable(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m)
	rng := rand.New(rand.NewPCG(3, 4))
	var slow, fast []time.Duration
	for i := range 400 {
		d := time.Duration(math.Exp(rng.NormFloat64()*0.5) * float64(20*time.Millisecond))
		slow = append(slow, d)
		request(tracer, "GET /slow/{id}", d, i%10 == 0)
	}
	for range 600 {
		d := time.Duration(200+rng.IntN(100)) * time.Microsecond
		fast = append(fast, d)
		request(tracer, "GET /fast", d, false)
	}
	slices.Sort(slow)
	slices.Sort(fast)
	rows := m.Latency(false)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	// Impact: the slow route spends far more time, so it ranks first.
	if rows[0].Name != "GET /slow/{id}" || rows[1].Name != "GET /fast" || rows[0].Kind != trace.SpanKindServer {
		t.Fatalf("rows %q, %q: want the slow route first", rows[0].Name, rows[1].Name)
	}
	var sumSlow, sumFast time.Duration
	for _, d := range slow {
		sumSlow += d
	}
	for _, d := range fast {
		sumFast += d
	}
	if want := float64(sumSlow) / float64(sumSlow+sumFast); math.Abs(rows[0].Impact-want) > 1e-9 || math.Abs(rows[0].Impact+rows[1].Impact-1) > 1e-9 {
		t.Errorf("impact %v and %v, want %v and the rest", rows[0].Impact, rows[1].Impact, want)
	}
	for _, tt := range []struct {
		row  RouteLatency
		data []time.Duration
		errs uint64
	}{{rows[0], slow, 40}, {rows[1], fast, 0}} {
		r := tt.row
		if r.Requests != uint64(len(tt.data)) || r.Errors != tt.errs {
			t.Errorf("%s: %d requests %d errors, want %d and %d", r.Name, r.Requests, r.Errors, len(tt.data), tt.errs)
		}
		for _, p := range []struct {
			q   float64
			got time.Duration
		}{{0.5, r.P50}, {0.95, r.P95}, {0.99, r.P99}} {
			want := exactQuantile(tt.data, p.q)
			if rel := math.Abs(float64(p.got-want)) / float64(want); rel > 0.02 {
				t.Errorf("%s: p%v = %v, exact %v: %.2f%% off", r.Name, p.q*100, p.got, want, rel*100)
			}
		}
		var inBuckets uint64
		for i, n := range r.Buckets {
			inBuckets += n
			var want uint64
			for _, d := range tt.data {
				if latency.CoarseIndex(int64(d)) == i {
					want++
				}
			}
			if n != want {
				t.Errorf("%s: bucket %d holds %d, want %d", r.Name, i, n, want)
			}
		}
		if inBuckets != r.Requests {
			t.Errorf("%s: buckets hold %d of %d", r.Name, inBuckets, r.Requests)
		}
		if r.Rate <= 0 || r.Covered <= 0 || r.Covered > time.Minute {
			t.Errorf("%s: rate %v over %v", r.Name, r.Rate, r.Covered)
		}
		// Every bucket with requests has an example from it, with its trace's two spans kept.
		seen := map[int]bool{}
		for _, e := range r.Examples {
			if latency.CoarseIndex(int64(e.Duration)) != e.Bucket {
				t.Errorf("%s: example of %v filed in bucket %d", r.Name, e.Duration, e.Bucket)
			}
			seen[e.Bucket] = true
			spans, _, ok := m.keptSpans(e.TraceID)
			if !ok || len(spans) != 2 {
				t.Errorf("%s: example %s kept %d spans (%v), want the request and its child", r.Name, e.TraceID, len(spans), ok)
			}
		}
		for i, n := range r.Buckets {
			if n > 0 && !seen[i] {
				t.Errorf("%s: bucket %d has %d requests and no example", r.Name, i, n)
			}
		}
	}
	failedKept := 0
	for _, e := range rows[0].Examples {
		if e.Failed {
			failedKept++
		}
	}
	if failedKept == 0 {
		t.Error("no failed request kept as an example")
	}
	if long := m.Latency(true); len(long) != 2 || long[0].Requests != 400 {
		t.Errorf("ten-minute window: %+v", long)
	}
}

// Past WithMaxRoutes, new routes are counted in "(other)", not tracked; child spans make no rows.
func TestMonitorLatencyRouteBound(t *testing.T) {
	m := NewMonitor(WithMaxRoutes(3))
	tracer := newMonitored(t, m)
	for i := range 10 {
		request(tracer, "GET /r"+string(rune('a'+i)), time.Millisecond, false)
	}
	rows := m.Latency(false)
	if len(rows) != 4 || !rows[3].Other || rows[3].Requests != 7 || rows[3].Name != "(other)" {
		t.Fatalf("rows %+v, want 3 routes and (other) with 7 requests", rows)
	}
	for _, r := range rows {
		if r.Name == "db.query" {
			t.Error("a child span got a row")
		}
	}
}

// The JSON keeps its old figures and carries the latency table, the runtime and the sections.
func TestMonitorLatencyJSON(t *testing.T) {
	m := NewMonitor(WithJaegerUI("http://127.0.0.1:16686/"), WithMonitorSection("extra", func() Table {
		return Table{Columns: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}}
	}), WithMonitorSection("broken", func() Table { panic("no") }))
	tracer := newMonitored(t, m)
	s := request(tracer, "GET /x", 3*time.Millisecond, true)
	d := m.pageData(10, trace.TraceID{})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Stats struct {
			Created uint64 `json:"created"`
		} `json:"stats"`
		Latency struct {
			Edges []float64 `json:"bucket_edges_ms"`
			Rows  []struct {
				Name  string `json:"name"`
				Kind  string `json:"kind"`
				Short struct {
					Requests  uint64   `json:"requests"`
					ErrorRate float64  `json:"error_rate"`
					P99       float64  `json:"p99_ms"`
					Buckets   []uint64 `json:"buckets"`
				} `json:"1m"`
				Examples []struct {
					TraceID string `json:"trace_id"`
					Href    string `json:"href"`
					Jaeger  string `json:"jaeger"`
					Error   bool   `json:"error"`
				} `json:"examples"`
			} `json:"rows"`
		} `json:"latency"`
		Runtime struct {
			Goroutines *uint64 `json:"goroutines"`
			HeapLive   *uint64 `json:"heap_live_bytes"`
		} `json:"runtime"`
		Sections []struct {
			Name string     `json:"name"`
			Rows [][]string `json:"rows"`
			Note string     `json:"note"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	tid := s.SpanContext().TraceID().String()
	if page.Stats.Created != 2 || len(page.Latency.Rows) != 1 || len(page.Latency.Edges) != latency.NumCoarse-1 {
		t.Fatalf("JSON %s", b)
	}
	r := page.Latency.Rows[0]
	if r.Name != "GET /x" || r.Kind != "server" || r.Short.Requests != 1 || r.Short.ErrorRate != 1 ||
		math.Abs(r.Short.P99-3) > 0.06 || len(r.Short.Buckets) != latency.NumCoarse {
		t.Errorf("row %+v", r)
	}
	if len(r.Examples) != 1 || r.Examples[0].TraceID != tid || r.Examples[0].Href != "?trace="+tid ||
		r.Examples[0].Jaeger != "http://127.0.0.1:16686/trace/"+tid || !r.Examples[0].Error {
		t.Errorf("examples %+v", r.Examples)
	}
	if page.Runtime.Goroutines == nil || *page.Runtime.Goroutines == 0 || page.Runtime.HeapLive == nil {
		t.Errorf("runtime %+v", page.Runtime)
	}
	if len(page.Sections) != 2 || page.Sections[0].Name != "extra" || page.Sections[0].Rows[0][1] != "2" ||
		page.Sections[1].Note == "" {
		t.Errorf("sections %+v", page.Sections)
	}
}

func TestMonitorJaegerUIChecked(t *testing.T) {
	for _, tt := range []struct{ in, base, why string }{
		{"", "", ""},
		{"http://jaeger:16686/", "http://jaeger:16686", ""},
		{"javascript:alert(1)", "", "want an http or https URL"},
		{"jaeger:16686", "", "want an http or https URL"},
		{"ftp://jaeger:21", "", "want an http or https URL"},
	} {
		m := NewMonitor(WithJaegerUI(tt.in))
		if m.jaeger != tt.base || (tt.why == "") != (m.jaegerWhy == "") {
			t.Errorf("WithJaegerUI(%q): base %q problem %q", tt.in, m.jaeger, m.jaegerWhy)
		}
	}
	t.Setenv(EnvJaegerUI, "https://tracing.internal")
	if m := NewMonitor(); m.jaeger != "https://tracing.internal" {
		t.Errorf("from %s: %q", EnvJaegerUI, m.jaeger)
	}
}

func TestMonitorWithoutLatency(t *testing.T) {
	m := NewMonitor(WithoutLatency())
	tracer := newMonitored(t, m)
	request(tracer, "GET /x", time.Millisecond, false)
	if m.Latency(false) != nil || m.pageData(1, trace.TraceID{}).Latency != nil {
		t.Error("latency kept WithoutLatency")
	}
	if st := m.Stats(); st.Ended != 2 {
		t.Errorf("counts %+v", st.Counts)
	}
}

func TestMonitorTraceRequests(t *testing.T) {
	m := NewMonitor(WithJaegerUI("http://127.0.0.1:16686"))
	tracer := newMonitored(t, m)
	s := request(tracer, "GET /x", time.Millisecond, false)
	srv := httptest.NewServer(m)
	defer srv.Close()
	for _, tt := range []struct {
		name, query string
		status      int
		want        string
	}{
		{"kept", "?trace=" + s.SpanContext().TraceID().String(), http.StatusOK, "ctxtrail-waterfall"},
		{"not kept", "?trace=0123456789abcdef0123456789abcdef", http.StatusNotFound, "no longer keeps"},
		{"jaeger link", "?trace=0123456789abcdef0123456789abcdef", http.StatusNotFound, "http://127.0.0.1:16686/trace/0123456789abcdef0123456789abcdef"},
		{"bad id", "?trace=%3Cscript%3E", http.StatusBadRequest, "want a trace ID of 32 hex digits"},
		{"zero id", "?trace=00000000000000000000000000000000", http.StatusBadRequest, "32 hex digits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.query, nil)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("status %d, want %d with %q:\n%s", resp.StatusCode, tt.status, tt.want, body)
			}
			// An error echoes the input as plain text, which a browser told nosniff never runs.
			if strings.Contains(body, "<script>") && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff") {
				t.Errorf("input echoed into %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// The memory the docs state for a row of the latency table: about 70 KiB.
func TestMonitorRouteMemory(t *testing.T) {
	r := newRoute(routeKey{name: "GET /x"}, false)
	n, _ := r.short.Size()
	m, _ := r.long.Size()
	size := unsafe.Sizeof(*r) + uintptr(n+m)*latency.SlotSize
	if size > 72<<10 || size < 60<<10 {
		t.Errorf("a route holds %d bytes, the docs say about 70 KiB", size)
	}
}

// Kept example requests favour failed and slow ones: a fast request never pushes out a slower
// or failed one, a failed one pushes out a fast one, and an example older than the long window
// goes first whatever it was.
func TestMonitorKeptEviction(t *testing.T) {
	m := NewMonitor(WithKeptTraces(3))
	tracer := newMonitored(t, m)
	at := func(route string, d time.Duration, failed bool, end time.Time) trace.TraceID {
		_, s := tracer.Start(context.Background(), route, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-d)))
		if failed {
			s.SetStatus(codes.Error, "boom")
		}
		s.End(trace.WithTimestamp(end))
		return s.SpanContext().TraceID()
	}
	kept := func(id trace.TraceID) bool { _, _, ok := m.keptSpans(id); return ok }
	now := time.Now()
	stale := at("GET /old", 400*time.Millisecond, true, now.Add(-11*time.Minute))
	slow := at("GET /a", 400*time.Millisecond, false, now)
	failed := at("GET /b", time.Millisecond, true, now.Add(-time.Second)) // older than the fast ones
	if !kept(stale) || !kept(slow) || !kept(failed) {
		t.Fatal("the first three examples were not kept")
	}
	fast := at("GET /c", time.Millisecond, false, now)
	if !kept(fast) || kept(stale) || !kept(slow) || !kept(failed) {
		t.Errorf("a fast request should push out only the stale example: fast %v stale %v slow %v failed %v",
			kept(fast), kept(stale), kept(slow), kept(failed))
	}
	faster := at("GET /d", 200*time.Microsecond, false, now)
	if kept(faster) || !kept(fast) {
		t.Errorf("a faster request pushed out a slower one: faster %v fast %v", kept(faster), kept(fast))
	}
	// As fast as the failed one, and newer: it takes the fast one's place, not the failed one's.
	fast2 := at("GET /f", time.Millisecond, false, now)
	if !kept(fast2) || kept(fast) || !kept(failed) {
		t.Errorf("an ok request of the failed one's bucket: new %v, fast %v, failed %v", kept(fast2), kept(fast), kept(failed))
	}
	failedSlow := at("GET /e", 600*time.Millisecond, true, now)
	if !kept(failedSlow) || kept(fast2) || !kept(slow) || !kept(failed) {
		t.Errorf("a failed slow request should push out the fast one: %v %v %v %v", kept(failedSlow), kept(fast2), kept(slow), kept(failed))
	}
}

// With a Jaeger UI configured, the active spans' trace IDs link to it.
func TestMonitorActiveLinksToJaeger(t *testing.T) {
	m := NewMonitor(WithJaegerUI("http://127.0.0.1:16686"))
	tracer := newMonitored(t, m)
	_, s := tracer.Start(context.Background(), "GET /slow", trace.WithSpanKind(trace.SpanKindServer))
	defer s.End()
	srv := httptest.NewServer(m)
	defer srv.Close()
	_, body := get(t, srv.URL, nil)
	want := `href="http://127.0.0.1:16686/trace/` + s.SpanContext().TraceID().String() + `"`
	if !strings.Contains(body, want) {
		t.Errorf("no %s in the page", want)
	}
	// The hung route has a row, by its request in flight, before any of its requests ends.
	lv := m.pageData(10, trace.TraceID{}).Latency
	if len(lv.Rows) != 1 || lv.Rows[0].Name != "GET /slow" || lv.Rows[0].InFlight != 1 || lv.Rows[0].Short.Requests != 0 {
		t.Errorf("rows %+v, want GET /slow with one request in flight", lv.Rows)
	}
}

// "(other)" shows when its requests are in the ten-minute window only.
func TestMonitorOtherInLongWindowOnly(t *testing.T) {
	m := NewMonitor(WithMaxRoutes(1))
	tracer := newMonitored(t, m)
	request(tracer, "GET /a", time.Millisecond, false)
	end := time.Now().Add(-3 * time.Minute)
	_, s := tracer.Start(context.Background(), "GET /b", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-time.Millisecond)))
	s.End(trace.WithTimestamp(end))
	rows := m.pageData(10, trace.TraceID{}).Latency.Rows
	if len(rows) != 2 || !rows[1].Other || rows[1].Short.Requests != 0 || rows[1].Long.Requests != 1 {
		t.Errorf("rows %+v, want GET /a and (other) with one request in the long window", rows)
	}
}

// Examples are picked at most once a second per route, bucket and outcome (keep takes every
// shard's lock): of ten alike requests ending within a second, the first is the one kept.
func TestMonitorKeepRateLimited(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m)
	var first trace.TraceID
	for i := range 10 {
		s := request(tracer, "GET /same", 3*time.Millisecond, false)
		if i == 0 {
			first = s.SpanContext().TraceID()
		}
	}
	rows := m.Latency(false)
	if len(rows) != 1 || rows[0].Requests != 10 {
		t.Fatalf("rows %+v, want one with 10 requests", rows)
	}
	if ex := rows[0].Examples; len(ex) != 1 || ex[0].TraceID != first {
		t.Errorf("examples %+v, want the first request's alone", ex)
	}
}

// An example keeps at most maxKeptSpans of its trace's spans and counts the rest as missed.
func TestMonitorKeptSpansCapped(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m)
	ctx, root := tracer.Start(context.Background(), "GET /fanout", trace.WithSpanKind(trace.SpanKindServer))
	const children = 200
	for range children {
		_, c := tracer.Start(ctx, "step")
		c.End()
	}
	root.End()
	spans, missed, ok := m.keptSpans(root.SpanContext().TraceID())
	if !ok || len(spans) != maxKeptSpans || missed != children+1-maxKeptSpans {
		t.Errorf("kept %d spans, %d missed (%v); want %d and %d", len(spans), missed, ok, maxKeptSpans, children+1-maxKeptSpans)
	}
}
