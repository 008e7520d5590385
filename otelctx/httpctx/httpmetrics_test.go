package httpctx

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// hmSetup is a tracer provider with a recorder and a meter provider with a manual reader.
type hmSetup struct {
	tp  *sdktrace.TracerProvider
	sr  *tracetest.SpanRecorder
	mp  *sdkmetric.MeterProvider
	rd  *sdkmetric.ManualReader
	opt HTTPOption
}

func newHMSetup(t *testing.T) *hmSetup {
	s := &hmSetup{sr: tracetest.NewSpanRecorder(), rd: sdkmetric.NewManualReader()}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.sr))
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.rd))
	t.Cleanup(func() {
		_ = s.tp.Shutdown(context.Background())
		_ = s.mp.Shutdown(context.Background())
	})
	s.opt = WithMeterProvider(s.mp)
	return s
}

func (s *hmSetup) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrString(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(parts, ",")
}

// histPoints returns the histogram's points by their attributes, "k=v,k=v" sorted by key.
func histPoints(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, want a float64 histogram", m.Name, m.Data)
	}
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, dp := range h.DataPoints {
		out[attrString(dp.Attributes)] = dp
	}
	return out
}

func hmServer(t *testing.T, s *hmSetup, opts ...HandlerOption) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "slow" {
			time.Sleep(30 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "order "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "out of stock", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := NewHandler(mux, append([]HandlerOption{WithTracerProvider(s.tp), WithPropagator(mwPropagator()), s.opt}, opts...)...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func hmDo(t *testing.T, method, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body == "" {
		req.Body = nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestServerMetricsFollowSemconv(t *testing.T) {
	s := newHMSetup(t)
	srv := hmServer(t, s)
	var traceIDs []string // X-Trace-Id of the seven GET /orders/{id}, the series ok200 below
	for i := range 5 {
		resp := hmDo(t, "GET", fmt.Sprintf("%s/orders/%d", srv.URL, i), "")
		traceIDs = append(traceIDs, resp.Header.Get("X-Trace-Id"))
	}
	for range 2 {
		resp := hmDo(t, "GET", srv.URL+"/orders/slow", "")
		traceIDs = append(traceIDs, resp.Header.Get("X-Trace-Id"))
	}
	for range 3 {
		hmDo(t, "POST", srv.URL+"/orders", "{}")
	}
	hmDo(t, "BREW", srv.URL+"/orders/1", "")     // unknown method: _OTHER, 405 without a route
	hmDo(t, "GET", srv.URL+"/nowhere/12345", "") // 404 without a route: no http.route at all

	ms := s.collect(t)
	d, ok := ms["http.server.request.duration"]
	if !ok {
		t.Fatalf("no http.server.request.duration; have %v", keys(ms))
	}
	if d.Unit != "s" {
		t.Errorf("unit %q, want s", d.Unit)
	}
	pts := histPoints(t, d)
	const base = "http.request.method=GET,"
	ok200 := "http.request.method=GET,http.response.status_code=200,http.route=/orders/{id},network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
	err503 := "error.type=503,http.request.method=POST,http.response.status_code=503,http.route=/orders,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
	other := "http.request.method=_OTHER,http.response.status_code=405,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
	notFound := base + "http.response.status_code=404,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
	want := map[string]uint64{ok200: 7, err503: 3, other: 1, notFound: 1}
	if len(pts) != len(want) {
		t.Errorf("got %d series, want %d: %v", len(pts), len(want), keys(pts))
	}
	for k, n := range want {
		dp, ok := pts[k]
		if !ok {
			t.Errorf("missing series %s; have %v", k, keys(pts))
			continue
		}
		if dp.Count != n {
			t.Errorf("%s: count %d, want %d", k, dp.Count, n)
		}
		if !slices.Equal(dp.Bounds, durationBuckets) {
			t.Errorf("bounds %v, want the conventions' %v", dp.Bounds, durationBuckets)
		}
	}
	for k := range pts {
		if strings.Contains(k, "12345") || strings.Contains(k, "url.path") {
			t.Errorf("a raw path reached a metric attribute: %s", k)
		}
	}
	// The two slow requests slept 30ms: they must sit in buckets above 25ms.
	dp := pts[ok200]
	var above uint64
	for i, b := range dp.Bounds {
		if b >= 0.025 {
			above += dp.BucketCounts[i]
		}
	}
	above += dp.BucketCounts[len(dp.Bounds)]
	if above < 2 || dp.Sum < 0.06 {
		t.Errorf("slow requests: %d in buckets above 25ms, sum %vs; buckets %v", above, dp.Sum, dp.BucketCounts)
	}
	// Each request was a trace of its own, and told the caller which (X-Trace-Id).
	served := map[string]bool{}
	for _, sp := range s.sr.Ended() {
		if sp.SpanKind() == trace.SpanKindServer && sp.Name() == "GET /orders/{id}" {
			served[sp.SpanContext().TraceID().String()] = true
		}
	}
	told := map[string]bool{}
	for _, tid := range traceIDs {
		if !served[tid] || told[tid] {
			t.Errorf("X-Trace-Id %q: not the trace of one GET /orders/{id} server span (have %v)", tid, served)
		}
		told[tid] = true
	}
	// Exemplars point at the traces of sampled requests: traces their callers were told of.
	if len(dp.Exemplars) == 0 {
		t.Fatal("no exemplars on the duration histogram")
	}
	for _, ex := range dp.Exemplars {
		tid := fmt.Sprintf("%x", ex.TraceID)
		found := false
		for _, sp := range s.sr.Ended() {
			if sp.SpanContext().TraceID().String() == tid && fmt.Sprintf("%x", ex.SpanID) == sp.SpanContext().SpanID().String() {
				found = true
			}
		}
		if !found {
			t.Errorf("exemplar trace %s span %x matches no server span", tid, ex.SpanID)
		}
		if !told[tid] {
			t.Errorf("exemplar trace %s is none of the X-Trace-Id values the requests got: %v", tid, traceIDs)
		}
	}

	a, ok := ms["http.server.active_requests"]
	if !ok {
		t.Fatal("no http.server.active_requests")
	}
	for _, dp := range a.Data.(metricdata.Sum[int64]).DataPoints {
		if dp.Value != 0 {
			t.Errorf("active requests %s = %d after every request ended", attrString(dp.Attributes), dp.Value)
		}
	}
	if _, ok := ms["http.server.request.body.size"]; ok {
		t.Error("body sizes recorded without WithBodySizeMetrics")
	}
}

func TestServerMetricsActiveRequestsAndPanic(t *testing.T) {
	s := newHMSetup(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		entered <- struct{}{}
		<-release
	}), WithTracerProvider(s.tp), s.opt)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/wait", nil))
	}()
	<-entered
	active := func() int64 {
		var n int64
		for _, dp := range s.collect(t)["http.server.active_requests"].Data.(metricdata.Sum[int64]).DataPoints {
			n += dp.Value
		}
		return n
	}
	if n := active(); n != 1 {
		t.Errorf("active_requests = %d during a request, want 1", n)
	}
	close(release)
	<-done
	if n := active(); n != 0 {
		t.Errorf("active_requests = %d after it, want 0", n)
	}
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	if n := active(); n != 0 {
		t.Errorf("active_requests = %d after a panic, want 0", n)
	}
	found := false
	for k := range histPoints(t, s.collect(t)["http.server.request.duration"]) {
		found = found || strings.Contains(k, "error.type=panic")
	}
	if !found {
		t.Error("a panicking request was not recorded with error.type=panic")
	}
}

func TestServerMetricsBodySizes(t *testing.T) {
	s := newHMSetup(t)
	srv := hmServer(t, s, WithBodySizeMetrics())
	hmDo(t, "POST", srv.URL+"/orders", strings.Repeat("x", 100))
	hmDo(t, "POST", srv.URL+"/orders", strings.Repeat("x", 23))
	ms := s.collect(t)
	for name, want := range map[string]int64{
		"http.server.request.body.size":  123,
		"http.server.response.body.size": 2 * int64(len("out of stock\n")),
	} {
		h, ok := ms[name].Data.(metricdata.Histogram[int64])
		if !ok || len(h.DataPoints) != 1 {
			t.Fatalf("%s: %+v", name, ms[name])
		}
		if dp := h.DataPoints[0]; dp.Sum != want || dp.Count != 2 {
			t.Errorf("%s: sum %d count %d, want %d over 2", name, dp.Sum, dp.Count, want)
		}
	}
}

// TestMetricsCardinalityBounded sends 10,000 distinct paths with junk methods: the series stay
// a handful, because only the route template and normalised methods become attributes.
func TestMetricsCardinalityBounded(t *testing.T) {
	s := newHMSetup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := NewHandler(mux, WithTracerProvider(s.tp), s.opt, WithWarnLimiter(nil))
	methods := []string{"GET", "POST", "DELETE"}
	for i := range 10000 {
		m := methods[i%3]
		if i%5 == 0 {
			m = fmt.Sprintf("JUNK%d", i) // 2,000 distinct junk methods
		}
		path := fmt.Sprintf("/users/%d", i)
		if i%2 == 0 {
			path = fmt.Sprintf("/random/%d/%x", i, i*7919)
		}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, path, nil))
	}
	ms := s.collect(t)
	series := len(histPoints(t, ms["http.server.request.duration"]))
	if series == 0 || series > 8 {
		t.Errorf("%d series from 10,000 distinct paths and 2,000 junk methods, want at most 8", series)
	}
	if n := len(ms["http.server.active_requests"].Data.(metricdata.Sum[int64]).DataPoints); n > 4 {
		t.Errorf("active_requests has %d series, want at most 4", n)
	}
	var total uint64
	for _, dp := range histPoints(t, ms["http.server.request.duration"]) {
		total += dp.Count
	}
	if total != 10000 {
		t.Errorf("recorded %d requests, want 10000", total)
	}
}

func TestClientMetrics(t *testing.T) {
	s := newHMSetup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	client := &http.Client{Transport: NewTransport(nil, WithTracerProvider(s.tp), s.opt, WithBodySizeMetrics())}
	for _, p := range []string{"/a", "/b", "/missing"} {
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	// A refused connection: error.type, no status.
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := lis.Addr().String()
	_ = lis.Close()
	if _, err := client.Get("http://" + dead + "/x"); err == nil {
		t.Fatal("expected a connection error")
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	_, deadPort, _ := net.SplitHostPort(dead)
	pts := histPoints(t, s.collect(t)["http.client.request.duration"])
	want := map[string]uint64{
		"http.request.method=GET,http.response.status_code=200,server.address=127.0.0.1,server.port=" + port + ",url.scheme=http":                2,
		"error.type=404,http.request.method=GET,http.response.status_code=404,server.address=127.0.0.1,server.port=" + port + ",url.scheme=http": 1,
		"error.type=_OTHER,http.request.method=GET,server.address=127.0.0.1,server.port=" + deadPort + ",url.scheme=http":                        1,
	}
	if len(pts) != len(want) {
		t.Errorf("series %v", keys(pts))
	}
	for k, n := range want {
		if pts[k].Count != n {
			t.Errorf("%s: count %d, want %d; have %v", k, pts[k].Count, n, keys(pts))
		}
	}
}

// TestAllocServerMetrics: recording the server metrics adds no allocation per request.
func TestAllocServerMetrics(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	allocs := func(opt HTTPOption) float64 {
		h := NewHandler(mux, WithTracerProvider(tp), opt)
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/users/7", nil)
		h.ServeHTTP(w, r) // fill the caches
		return testing.AllocsPerRun(200, func() {
			for k := range w.Header() {
				delete(w.Header(), k)
			}
			h.ServeHTTP(w, r)
		})
	}
	off, on := allocs(WithMeterProvider(noop.NewMeterProvider())), allocs(WithMeterProvider(mp))
	if on != off {
		t.Errorf("server metrics cost %v allocations per request (%v with, %v without), want 0", on-off, on, off)
	}
}

// TestAllocClientMetrics: recording the client metrics adds no allocation per request.
func TestAllocClientMetrics(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	allocs := func(opt HTTPOption) float64 {
		tr := NewTransport(base, WithTracerProvider(tp), opt)
		r, _ := http.NewRequest("GET", "http://orders.internal:8080/orders/1", nil)
		_, _ = tr.RoundTrip(r)
		return testing.AllocsPerRun(200, func() { _, _ = tr.RoundTrip(r) })
	}
	off, on := allocs(WithMeterProvider(noop.NewMeterProvider())), allocs(WithMeterProvider(mp))
	if on != off {
		t.Errorf("client metrics cost %v allocations per request (%v with, %v without), want 0", on-off, on, off)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestServerMetricsImplicitOK: a handler that writes nothing answers 200 (net/http's default), and
// the duration is recorded with http.response.status_code=200, not without a status.
func TestServerMetricsImplicitOK(t *testing.T) {
	s := newHMSetup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /silent", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /header-only", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("X-Note", "1") })
	srv := httptest.NewServer(NewHandler(mux, WithTracerProvider(s.tp), s.opt))
	defer srv.Close()
	for _, p := range []string{"/silent", "/header-only"} {
		if resp := hmDo(t, "GET", srv.URL+p, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s answered %d", p, resp.StatusCode)
		}
	}
	pts := histPoints(t, s.collect(t)["http.server.request.duration"])
	for _, route := range []string{"/silent", "/header-only"} {
		k := "http.request.method=GET,http.response.status_code=200,http.route=" + route +
			",network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
		if pts[k].Count != 1 {
			t.Errorf("no duration recorded with status 200 for %s; have %v", route, keys(pts))
		}
	}
	if len(pts) != 2 {
		t.Errorf("series %v, want the two above", keys(pts))
	}
}

// TestClientMetricsExemplarIsClientSpan: the exemplar of http.client.request.duration names the
// Transport's client span, not the span the caller's context carried.
func TestClientMetricsExemplarIsClientSpan(t *testing.T) {
	s := newHMSetup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	client := &http.Client{Transport: NewTransport(nil, WithTracerProvider(s.tp), WithPropagator(mwPropagator()), s.opt)}
	ctx, parent := s.tp.Tracer("test").Start(context.Background(), "checkout")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stock", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	parent.End()

	var clientSpan sdktrace.ReadOnlySpan
	for _, sp := range s.sr.Ended() {
		if sp.SpanKind() == trace.SpanKindClient {
			clientSpan = sp
		}
	}
	if clientSpan == nil || clientSpan.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("no client span under the caller's span: %v", s.sr.Ended())
	}
	var exs []metricdata.Exemplar[float64]
	for _, dp := range histPoints(t, s.collect(t)["http.client.request.duration"]) {
		exs = append(exs, dp.Exemplars...)
	}
	if len(exs) != 1 {
		t.Fatalf("%d exemplars on http.client.request.duration, want 1", len(exs))
	}
	want := clientSpan.SpanContext()
	if got := fmt.Sprintf("%x/%x", exs[0].TraceID, exs[0].SpanID); got != want.TraceID().String()+"/"+want.SpanID().String() {
		t.Errorf("exemplar names %s, want the client span %s/%s (the caller's span is %s)",
			got, want.TraceID(), want.SpanID(), parent.SpanContext().SpanID())
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
