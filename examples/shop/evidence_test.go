package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// startEvidenceShop runs the shop on loopback with the frontend's evidence armed by ev; opts go
// to each service's Install.
func startEvidenceShop(t *testing.T, ev []evidence.Option, opts ...ctxtrail.Option) (*Local, *evidence.Recorder) {
	t.Helper()
	l, err := StartLocalEvidence(context.Background(), io.Discard, io.Discard, ev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return l, l.Frontend().Evidence()
}

func call(t *testing.T, method, url string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Errorf("%s %s: %s", method, url, resp.Status)
	}
}

// TestEvidenceCPUProfileByRoute: with labels armed, a real CPU profile of the shop under load,
// sliced by the route label, puts /recommendations (the CPU-burning route) on top, and its
// samples name example traces.
func TestEvidenceCPUProfileByRoute(t *testing.T) {
	l, _ := startEvidenceShop(t, []evidence.Option{evidence.WithProfileLabels()})
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("a CPU profile is already running: %v", err)
	}
	base := l.URL[Frontend]
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 15 {
				call(t, "GET", base+"/recommendations")
				call(t, "GET", base+"/inventory")
				call(t, "GET", base+"/checkout?user=ada@example.com&item=pen&card=4242")
			}
		})
	}
	wg.Wait()
	pprof.StopCPUProfile()
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	byRoute := map[string]int64{}
	traced := map[string]int64{}
	for _, s := range p.Sample {
		route := s.Label[evidence.LabelRoute]
		if len(route) != 1 {
			continue
		}
		byRoute[route[0]] += s.Value[1] // cpu nanoseconds
		if tid := s.Label[evidence.LabelTraceID]; len(tid) == 1 && len(tid[0]) == 32 {
			traced[route[0]] += s.Value[1]
		}
	}
	t.Logf("CPU by route (ns): %v", byRoute)
	top, rest := byRoute["/recommendations"], int64(0)
	for r, v := range byRoute {
		if r != "/recommendations" {
			rest += v
		}
	}
	if top == 0 || top <= rest {
		t.Errorf("/recommendations has %dns of CPU against %dns for every other route: it should dominate", top, rest)
	}
	if traced["/recommendations"] != top {
		t.Errorf("some /recommendations samples have no trace_id label (%d of %d ns)", traced["/recommendations"], top)
	}
}

// TestEvidenceInventoryWaitsOnReindex: an /inventory request that arrives while a reindex holds
// the stock lock is slow, and its capture says it was blocked for most of its time.
//
// Its server span, as exported, carries the capture's ID and the breakdown itself: the shop's
// frontend makes its Recorder before Install and passes ctxtrail.WithSpanExportHold.
func TestEvidenceInventoryWaitsOnReindex(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	l, rec := startEvidenceShop(t, DemoEvidence(), ctxtrail.WithExporter(exp))
	base := l.URL[Frontend]
	for attempt := 0; attempt < 5; attempt++ {
		done := make(chan struct{})
		go func() { defer close(done); call(t, "POST", base+"/inventory/reindex") }()
		time.Sleep(ReindexHold / 4)
		call(t, "GET", base+"/inventory")
		<-done
		var got *evidence.CaptureInfo
		deadline := time.Now().Add(10 * time.Second)
		for got == nil && time.Now().Before(deadline) {
			for _, c := range rec.Snapshot().Captures {
				if c.Route == "/inventory" && c.State != "pending" {
					got = &c
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got == nil {
			continue // the reindex took the lock too late: try again
		}
		if got.Breakdown == nil {
			t.Fatalf("capture %+v", *got)
		}
		t.Logf("capture %s: %v, breakdown %+v", got.ID, got.Duration, *got.Breakdown)
		blocked := time.Duration(got.Breakdown.BlockedMs * float64(time.Millisecond))
		if blocked < InventorySlow/2 || blocked < got.Duration/2 {
			t.Errorf("blocked %v of a %v request, want most of it", blocked, got.Duration)
		}
		var attrs map[string]attribute.Value
		for deadline := time.Now().Add(10 * time.Second); attrs == nil && time.Now().Before(deadline); {
			_ = l.Tels[Frontend].Provider.ForceFlush(context.Background())
			for _, s := range exp.GetSpans() {
				if s.SpanContext.TraceID().String() == got.TraceID && s.SpanKind == trace.SpanKindServer {
					attrs = map[string]attribute.Value{}
					for _, kv := range s.Attributes {
						attrs[string(kv.Key)] = kv.Value
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if attrs[evidence.AttrCaptureID].AsString() != got.ID {
			t.Errorf("the exported server span's %s = %v, want %s", evidence.AttrCaptureID, attrs[evidence.AttrCaptureID].AsString(), got.ID)
		}
		if v := attrs[evidence.AttrBlockedMs].AsFloat64(); v != got.Breakdown.BlockedMs {
			t.Errorf("the exported server span's %s = %v, want the capture's %v", evidence.AttrBlockedMs, v, got.Breakdown.BlockedMs)
		}
		return
	}
	t.Fatal("no /inventory request was captured in 5 attempts")
}

// TestEvidenceTrackLeavesGoroutines: each GET /track leaves one goroutine behind, counted
// under /track; POST /track/flush ends them and the count drops to 0.
func TestEvidenceTrackLeavesGoroutines(t *testing.T) {
	l, rec := startEvidenceShop(t, []evidence.Option{evidence.WithLeftBehind(20*time.Millisecond, time.Hour)})
	base := l.URL[Frontend]
	for range 3 {
		call(t, "GET", base+"/track")
	}
	count := func() int {
		rec.CensusNow()
		for _, lb := range rec.Snapshot().Routes {
			if lb.Route == "/track" {
				return lb.Count
			}
		}
		return 0
	}
	count()
	time.Sleep(30 * time.Millisecond)
	if n := count(); n != 3 {
		t.Fatalf("/track left %d goroutines behind, want 3: %+v", n, rec.Snapshot().Routes)
	}
	// The frontend's monitor page shows the same count (evidence.AddToMonitor).
	resp, err := http.Get(base + "/debug/ctxtrail?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Sections []struct {
			Name string     `json:"name"`
			Rows [][]string `json:"rows"`
		} `json:"sections"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	shown := ""
	for _, sec := range page.Sections {
		for _, r := range sec.Rows {
			if sec.Name == "goroutines left behind" && r[0] == "/track" {
				shown = r[1]
			}
		}
	}
	if shown != "3" {
		t.Errorf("the monitor page shows %q goroutines left behind by /track, want 3: %+v", shown, page.Sections)
	}
	call(t, "POST", base+"/track/flush")
	deadline := time.Now().Add(10 * time.Second)
	for count() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("/track still counts goroutines after the flush: %+v", rec.Snapshot().Routes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
