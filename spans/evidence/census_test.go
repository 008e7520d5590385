package evidence

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// leakedWorker is what the leaking route leaves behind: it waits for a release that the
// request never gives.
func leakedWorker(release <-chan struct{}) { <-release }

// heldWorker is started by a request that waits for it: never left behind.
func heldWorker(release <-chan struct{}) { <-release }

// TestLeftBehindByRoute: through httpctx.NewHandler on loopback, a route that leaves one
// goroutine behind per request is counted per route, with the goroutine's stack and an
// example trace ID, on the Snapshot and on ctxtrail.goroutine.left_behind; a request still
// running is not counted; once the goroutines exit the count drops to 0.
func TestLeftBehindByRoute(t *testing.T) {
	tp, _ := newProvider(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec := newRecorder(t, WithLeftBehind(30*time.Millisecond, time.Hour))
	reg, err := rec.RegisterMetrics(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()

	release := make(chan struct{})
	var leftWG sync.WaitGroup
	holdRelease := make(chan struct{})
	holding := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /leak", func(w http.ResponseWriter, r *http.Request) {
		leftWG.Go(func() { leakedWorker(release) })
	})
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		wg.Go(func() { heldWorker(holdRelease) })
		close(holding)
		wg.Wait()
	})
	srv := serve(t, rec, tp, mux, nil)
	const leaks = 5
	for range leaks {
		get(t, srv.URL+"/leak")
		get(t, srv.URL+"/fine")
	}
	holdDone := make(chan struct{})
	go func() { defer close(holdDone); get(t, srv.URL+"/hold") }()
	<-holding

	// The first census sees the requests finished; one after the grace counts their goroutines.
	rec.CensusNow()
	time.Sleep(40 * time.Millisecond)
	rec.CensusNow()
	snap := rec.Snapshot()
	got := map[string]LeftBehind{}
	for _, lb := range snap.Routes {
		got[lb.Route] = lb
	}
	if lb := got["/leak"]; lb.Count != leaks {
		t.Errorf("/leak left behind %d goroutines, want %d (snapshot %+v)", lb.Count, leaks, snap.Routes)
	} else {
		if len(lb.ExampleTraceID) != 32 {
			t.Errorf("example trace ID %q", lb.ExampleTraceID)
		}
		found := false
		for _, f := range lb.Stack {
			found = found || strings.Contains(f, "evidence.leakedWorker ")
		}
		if !found {
			t.Errorf("stack %q does not name leakedWorker", lb.Stack)
		}
	}
	if got["/fine"].Count != 0 || got["/hold"].Count != 0 {
		t.Errorf("routes that leave nothing behind counted: %+v", snap.Routes)
	}
	if n := gaugeValue(t, reader, "/leak"); n != leaks {
		t.Errorf("ctxtrail.goroutine.left_behind{route=/leak} = %d, want %d", n, leaks)
	}

	close(holdRelease)
	<-holdDone
	close(release)
	leftWG.Wait()
	eventually(t, "the left-behind count to drop to 0", func() bool {
		rec.CensusNow()
		for _, lb := range rec.Snapshot().Routes {
			if lb.Count != 0 {
				return false
			}
		}
		return true
	})
	if n := gaugeValue(t, reader, "/leak"); n != 0 {
		t.Errorf("ctxtrail.goroutine.left_behind{route=/leak} = %d after the goroutines exited, want 0", n)
	}
	if st := rec.Snapshot().Census; st == nil || st.Rounds < 3 || st.Goroutines == 0 {
		t.Errorf("census stats %+v", st)
	}
}

// gaugeValue collects reader and returns ctxtrail.goroutine.left_behind for route (-1 if absent).
func gaugeValue(t testing.TB, reader *sdkmetric.ManualReader, route string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ctxtrail.goroutine.left_behind" {
				continue
			}
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				t.Fatalf("%s is %T", m.Name, m.Data)
			}
			for _, dp := range g.DataPoints {
				if v, _ := dp.Attributes.Value(attribute.Key("route")); v.AsString() == route {
					return dp.Value
				}
			}
		}
	}
	return -1
}

// TestCensusStops: the census goroutine ends with Shutdown (goleak checks the rest).
func TestCensusStops(t *testing.T) {
	rec, err := New(withGetenv(func(string) string { return "" }), WithLeftBehind(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.Snapshot().Census.Rounds == 0 {
		t.Error("the census never ran on its interval")
	}
}

// TestLeftBehindIgnoresConnectionPools: a request that dials a new keep-alive connection starts
// net/http's connection loops, which inherit its labels and outlive it by design: not counted.
func TestLeftBehindIgnoresConnectionPools(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithLeftBehind(time.Millisecond, time.Hour))
	backend := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /proxy", func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Get(backend)
		if err != nil {
			t.Error(err)
			return
		}
		_ = resp.Body.Close()
	})
	srv := serve(t, rec, tp, mux, nil)
	get(t, srv.URL+"/proxy")
	carried := false
	for _, l := range goroutineLabelsOf(t, "net/http.(*persistConn).readLoop") {
		carried = carried || l[LabelRoute] == "/proxy"
	}
	if !carried {
		t.Fatal("no pooled connection goroutine carries /proxy's labels; the test needs one")
	}
	rec.CensusNow()
	time.Sleep(5 * time.Millisecond)
	rec.CensusNow()
	for _, lb := range rec.Snapshot().Routes {
		if lb.Count != 0 {
			t.Errorf("%s counted %d goroutines left behind (started in %s); connection pools are not leaks", lb.Route, lb.Count, lb.Started)
		}
	}
}
