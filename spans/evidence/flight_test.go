package evidence

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/trace"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

const lockHold = 150 * time.Millisecond

// waitCaptures polls the Snapshot until n captures are done or failed.
func waitCaptures(t testing.TB, rec *Recorder, n int) []CaptureInfo {
	t.Helper()
	var caps []CaptureInfo
	eventually(t, "the captures", func() bool {
		caps = rec.Snapshot().Captures
		done := 0
		for _, c := range caps {
			if c.State != "pending" {
				done++
			}
		}
		return done >= n
	})
	return caps
}

func attrsOf(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// TestFlightRecorderBlockedOnLock: through httpctx.NewHandler on loopback, a request that waits
// on a lock held for lockHold gets a capture whose breakdown shows it blocked at least that
// long; its server span names the capture before it ends, and a "runtime evidence" child span
// carries the breakdown; the capture downloads as an execution trace and is written to the
// directory.
func TestFlightRecorderBlockedOnLock(t *testing.T) {
	tp, spans := newProvider(t)
	dir := t.TempDir()
	rec := newRecorder(t, WithFlightRecorder(time.Hour), WithRouteThreshold("/lock", 50*time.Millisecond), WithCaptureDir(dir))
	var (
		mu     sync.Mutex
		served int
	)
	locked := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lock", func(w http.ResponseWriter, r *http.Request) {
		close(locked)
		mu.Lock()
		served++
		mu.Unlock()
	})
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) {})
	srv := serve(t, rec, tp, mux, nil)

	get(t, srv.URL+"/fast")
	mu.Lock()
	go func() {
		<-locked
		time.Sleep(lockHold)
		mu.Unlock()
	}()
	get(t, srv.URL+"/lock")
	caps := waitCaptures(t, rec, 1)
	if len(caps) != 1 {
		t.Fatalf("%d captures, want 1 (the fast request under the global threshold takes none): %+v", len(caps), caps)
	}
	c := caps[0]
	if c.State != "done" || c.Breakdown == nil {
		t.Fatalf("capture %+v", c)
	}
	t.Logf("breakdown %+v, cost %v, %d bytes", *c.Breakdown, c.Cost, c.Bytes)
	if got := time.Duration(c.Breakdown.BlockedMs * float64(time.Millisecond)); got < lockHold {
		t.Errorf("blocked %v, want at least the lock's hold %v", got, lockHold)
	}
	if c.Route != "/lock" || c.Reason != "slow" || len(c.TraceID) != 32 {
		t.Errorf("capture %+v", c)
	}

	var server, evidence sdktrace.ReadOnlySpan
	eventually(t, "the runtime evidence span", func() bool {
		for _, s := range spans.Ended() {
			switch {
			case s.Name() == EvidenceSpanName:
				evidence = s
			case s.SpanContext().TraceID().String() == c.TraceID && s.Parent().IsValid() == false:
				server = s
			}
		}
		return evidence != nil && server != nil
	})
	if a := attrsOf(server); a[AttrCaptureID] != c.ID || a[AttrCaptureReason] != "slow" {
		t.Errorf("server span attributes %v, want %s=%s", a, AttrCaptureID, c.ID)
	}
	if evidence.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("the evidence span is not the server span's child")
	}
	if a := attrsOf(evidence); a[AttrBlockedMs].(float64) < float64(lockHold/time.Millisecond) {
		t.Errorf("evidence span attributes %v", a)
	}

	resp, err := http.Get(srvCaptures(t, rec) + "?id=" + c.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) != c.Bytes {
		t.Fatalf("download: status %d, %d bytes, want %d", resp.StatusCode, len(body), c.Bytes)
	}
	if _, err := analyze(body, c.SpanID); err != nil {
		t.Errorf("the downloaded capture does not read back: %v", err)
	}
	if onDisk, err := os.ReadFile(filepath.Join(dir, c.ID+".trace")); err != nil || len(onDisk) != c.Bytes {
		t.Errorf("capture on disk: %d bytes, %v", len(onDisk), err)
	}
}

func srvCaptures(t testing.TB, rec *Recorder) string {
	t.Helper()
	srv := newLoopback(t, rec.CapturesHandler())
	return srv
}

// TestFlightRecorderBudget: past the captures-per-minute budget, slow and failed requests are
// counted, not taken, and their spans say so; the response is not held.
func TestFlightRecorderBudget(t *testing.T) {
	tp, spans := newProvider(t)
	rec := newRecorder(t, WithFlightRecorder(time.Hour), WithCaptureBudget(1, 64<<20))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	srv := serve(t, rec, tp, mux, nil)
	for range 3 {
		if code := get(t, srv.URL+"/fail"); code != http.StatusInternalServerError {
			t.Fatalf("status %d", code)
		}
	}
	caps := waitCaptures(t, rec, 1)
	st := rec.Snapshot().CaptureStats
	if len(caps) != 1 || st.Taken != 1 || st.OverBudget != 2 {
		t.Fatalf("captures %d, stats %+v; want 1 taken, 2 over budget", len(caps), st)
	}
	if caps[0].Reason != "error" {
		t.Errorf("reason %q, want error", caps[0].Reason)
	}
	skipped := 0
	for _, s := range spans.Ended() {
		if attrsOf(s)[AttrCaptureSkip] == "over_budget" {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("%d spans marked over_budget, want 2", skipped)
	}
}

// TestFlightRecorderFailedAfterEarlyHints: an interim 103 before the final 500 does not hide
// the failure; io.WriteString reaches the writer's own string path.
func TestFlightRecorderFailedAfterEarlyHints(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithFlightRecorder(time.Hour))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(io.StringWriter); !ok {
			t.Error("the middleware's writer lost WriteString")
		}
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusInternalServerError)
	})
	srv := serve(t, rec, tp, mux, nil)
	if code := get(t, srv.URL+"/hints"); code != http.StatusInternalServerError {
		t.Fatalf("status %d", code)
	}
	caps := waitCaptures(t, rec, 1)
	if len(caps) != 1 || caps[0].Reason != "error" {
		t.Fatalf("captures %+v, want one for the error", caps)
	}
}

// TestFlightRecorderAlreadyRunning: the runtime allows one flight recorder; when the
// application runs one, New says so and WithSharedFlightRecorder uses it.
func TestFlightRecorderAlreadyRunning(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Second, MaxBytes: 4 << 20})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	_, err := New(withGetenv(func(string) string { return "" }), WithFlightRecorder(time.Second))
	if !errors.Is(err, ErrFlightRecorderInUse) {
		t.Fatalf("New with a flight recorder already running: %v, want ErrFlightRecorderInUse", err)
	}
	t.Log(err)
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithFlightRecorder(10*time.Millisecond), WithSharedFlightRecorder(fr))
	ctx, span := tp.Tracer("t").Start(context.Background(), "server")
	_, q := rec.Begin(ctx, "/slow")
	time.Sleep(20 * time.Millisecond)
	q.End("", false)
	span.End()
	caps := waitCaptures(t, rec, 1)
	if caps[0].State != "done" || rec.Snapshot().CaptureStats.Recorder != "shared" {
		t.Fatalf("capture through the shared recorder: %+v", caps[0])
	}
	if !fr.Enabled() {
		t.Error("Shutdown must not stop the application's recorder")
	}
}

// spin burns CPU for d.
func spin(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		n++
	}
	return n
}

// TestFlightRecorderFollowsChildren: the window covers the goroutines the request starts: a
// handler that waits while its child burns CPU shows two goroutines and the child's running
// (or runnable, on a busy machine) time.
func TestFlightRecorderFollowsChildren(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithFlightRecorder(20*time.Millisecond))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fanout", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan int)
		go func() { done <- spin(60 * time.Millisecond) }()
		<-done
	})
	srv := serve(t, rec, tp, mux, nil)
	get(t, srv.URL+"/fanout")
	c := waitCaptures(t, rec, 1)[0]
	if c.Breakdown == nil {
		t.Fatalf("capture %+v", c)
	}
	b := c.Breakdown
	t.Logf("breakdown %+v", *b)
	if b.Goroutines != 2 {
		t.Errorf("%d goroutines in the window, want 2 (the handler and its child)", b.Goroutines)
	}
	if b.RunningMs+b.RunnableMs < 50 {
		t.Errorf("running %.1fms + runnable %.1fms, want the child's 60ms of CPU", b.RunningMs, b.RunnableMs)
	}
	if b.BlockedMs < 50 {
		t.Errorf("blocked %.1fms, want the handler's wait on its child", b.BlockedMs)
	}
}

// TestFlightRecorderByteBudget: a capture larger than the bytes kept is read (its breakdown is
// there) but not kept, counted too_large, and not downloadable.
func TestFlightRecorderByteBudget(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithFlightRecorder(time.Hour), WithCaptureBudget(10, 1000))
	ctx, span := tp.Tracer("t").Start(context.Background(), "server")
	_, q := rec.Begin(ctx, "/fail")
	q.End("", true)
	span.End()
	c := waitCaptures(t, rec, 1)[0]
	st := rec.Snapshot().CaptureStats
	if c.State != "done" || c.Breakdown == nil || c.Kept || c.Bytes <= 1000 || st.TooLarge != 1 || st.Taken != 0 || st.StoredBytes != 0 {
		t.Fatalf("capture %+v, stats %+v: want read, not kept, counted too_large", c, st)
	}
	resp, err := http.Get(srvCaptures(t, rec) + "?id=" + c.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("download of a capture not kept: %s", resp.Status)
	}
}
