package evidence

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/race"
)

// sink is an exporter that keeps what it is given, also past Shutdown (tracetest's in-memory
// exporter forgets at Shutdown, which is what these tests look behind).
type sink struct {
	mu    sync.Mutex
	spans tracetest.SpanStubs
}

func (s *sink) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = append(s.spans, tracetest.SpanStubsFromReadOnlySpans(spans)...)
	return nil
}

func (s *sink) Shutdown(context.Context) error { return nil }

func (s *sink) all() tracetest.SpanStubs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(tracetest.SpanStubs(nil), s.spans...)
}

// server returns the exported server span whose name ends with route ("GET /lock"), or nil.
func (s *sink) server(route string) *tracetest.SpanStub {
	for _, st := range s.all() {
		if st.SpanKind == oteltrace.SpanKindServer && strings.HasSuffix(st.Name, " "+route) {
			return &st
		}
	}
	return nil
}

func (s *sink) named(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, st := range s.all() {
		if st.Name == name {
			out = append(out, st)
		}
	}
	return out
}

func stubAttrs(s *tracetest.SpanStub) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// installHeld is ctxtrail.Install as a service would call it, with the Recorder's export hold
// and an exporter per sink, exporting 10ms after a span is handed to it.
func installHeld(t testing.TB, rec *Recorder, sinks []*sink, opts ...ctxtrail.Option) *ctxtrail.Provider {
	t.Helper()
	opts = append([]ctxtrail.Option{ctxtrail.WithoutGlobal(), ctxtrail.WithoutMetrics(),
		ctxtrail.WithBatchOptions(sdktrace.WithBatchTimeout(10 * time.Millisecond)),
		ctxtrail.WithSpanExportHold(rec)}, opts...)
	for _, s := range sinks {
		opts = append(opts, ctxtrail.WithExporter(s))
	}
	p, err := ctxtrail.Install(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// heldServer serves slowMux through httpctx.NewHandler and rec's middleware on loopback, its
// spans going to Install's provider, with rec's export hold, and one sink.
func heldServer(t testing.TB, rec *Recorder, opts ...ctxtrail.Option) (*sink, *ctxtrail.Provider, *httptest.Server) {
	t.Helper()
	s := &sink{}
	p := installHeld(t, rec, []*sink{s}, opts...)
	return s, p, serve(t, rec, p.TracerProvider(), slowMux(nil, nil), nil)
}

// holdWorker stops the capture worker before each capture until the returned release is called
// (at the latest when the test ends), so that spans stay held.
func holdWorker(t testing.TB, rec *Recorder) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	fn := func() { <-gate }
	rec.flight.beforeCapture.Store(&fn)
	t.Cleanup(release)
	return release
}

// slowMux serves /slow (30ms, over its 20ms threshold), /fast and /lock (waits on mu).
func slowMux(mu *sync.Mutex, locked chan struct{}) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) })
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	if mu != nil {
		mux.HandleFunc("GET /lock", func(w http.ResponseWriter, r *http.Request) {
			close(locked)
			mu.Lock()
			defer mu.Unlock()
		})
	}
	return mux
}

func heldOptions(extra ...Option) []Option {
	return append([]Option{WithFlightRecorder(time.Hour), WithRouteThreshold("/slow", 20*time.Millisecond),
		WithRouteThreshold("/lock", 50*time.Millisecond)}, extra...)
}

// TestExportHoldBlockedOnLock: through Install (two exporters), httpctx.NewHandler and the
// middleware on loopback, the exported server span of a request that waited on a held lock
// carries the capture's ID and a blocked time at least the lock's hold, in both exporters, and no
// "runtime evidence" child span is made; a request under its threshold is exported without any
// of it.
func TestExportHoldBlockedOnLock(t *testing.T) {
	rec := newRecorder(t, heldOptions()...)
	a, b := &sink{}, &sink{}
	p := installHeld(t, rec, []*sink{a, b})
	var mu sync.Mutex
	locked := make(chan struct{})
	srv := serve(t, rec, p.TracerProvider(), slowMux(&mu, locked), nil)

	get(t, srv.URL+"/fast")
	mu.Lock()
	go func() {
		<-locked
		time.Sleep(lockHold)
		mu.Unlock()
	}()
	get(t, srv.URL+"/lock")
	c := waitCaptures(t, rec, 1)[0]
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*sink{a, b} {
		server := s.server("/lock")
		if server == nil {
			t.Fatalf("no server span for /lock exported: %v", s.all())
		}
		attrs := stubAttrs(server)
		t.Logf("exported server span: %v", attrs)
		if attrs[AttrCaptureID] != c.ID || attrs[AttrCaptureReason] != "slow" {
			t.Errorf("server span's capture %v/%v, want %s/slow", attrs[AttrCaptureID], attrs[AttrCaptureReason], c.ID)
		}
		blocked, _ := attrs[AttrBlockedMs].(float64)
		if time.Duration(blocked*float64(time.Millisecond)) < lockHold {
			t.Errorf("server span's %s = %v, want at least the lock's hold %v", AttrBlockedMs, attrs[AttrBlockedMs], lockHold)
		}
		for _, k := range []string{AttrRunningMs, AttrRunnableMs, AttrSyscallMs, AttrGCAssistMs, AttrOtherMs, AttrGoroutines} {
			if _, ok := attrs[k]; !ok {
				t.Errorf("server span lacks %s", k)
			}
		}
		fast := s.server("/fast")
		if fast == nil {
			t.Fatal("no server span for /fast exported")
		}
		for k := range stubAttrs(fast) {
			if strings.HasPrefix(k, "ctxtrail.runtime.") || strings.HasPrefix(k, "ctxtrail.capture.") {
				t.Errorf("the fast request's span has %s", k)
			}
		}
		if ev := s.named(EvidenceSpanName); len(ev) != 0 {
			t.Errorf("%d %q spans: the breakdown is on the server span, want none", len(ev), EvidenceSpanName)
		}
	}
	if st := rec.Snapshot().CaptureStats; st.HeldAttached != 1 || st.HeldNow != 0 || st.HeldTimedOut+st.HeldOverflow+st.HeldShutdown != 0 {
		t.Errorf("stats %+v, want the span held once, for both exporters, and attached", st)
	}
}

// TestExportHoldUncapturedAtOnce: while a captured request's span is held, a request not
// captured is exported at once, and the very span the SDK ended is what the next processor gets.
func TestExportHoldUncapturedAtOnce(t *testing.T) {
	rec := newRecorder(t, heldOptions()...)
	s, _, srv := heldServer(t, rec)
	release := holdWorker(t, rec)

	get(t, srv.URL+"/slow") // answered while its capture cannot even start: the response never waits
	eventually(t, "the slow span held", func() bool { return rec.Snapshot().CaptureStats.HeldNow == 1 })
	get(t, srv.URL+"/fast")
	eventually(t, "the fast span exported", func() bool { return s.server("/fast") != nil })
	if s.server("/slow") != nil {
		t.Fatal("the captured span was exported before its capture was read")
	}
	release()
	eventually(t, "the slow span exported", func() bool { return s.server("/slow") != nil })
	if a := stubAttrs(s.server("/slow")); a[AttrOtherMs] == nil {
		t.Errorf("the held span went out without the breakdown: %v", a)
	}

	// Unchanged: the same ReadOnlySpan the SDK handed every processor, while a capture is pending.
	release2 := holdWorker(t, rec)
	before, after := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(before), sdktrace.WithSpanProcessor(rec.WrapProcessor(after)))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, server := tp.Tracer("t").Start(context.Background(), "server")
	_, q := rec.Begin(ctx, "/x")
	q.End("", true)
	server.End()
	_, other := tp.Tracer("t").Start(context.Background(), "other")
	other.End()
	if got := after.Ended(); len(got) != 1 || got[0] != before.Ended()[1] {
		t.Fatalf("next got %v, want exactly the SDK's own ended span %v", got, before.Ended()[1])
	}
	release2()
}

// TestExportHoldBounds: at most N spans are held (past it one goes at once, counted overflow)
// and each at most D (past it, counted timed_out); either way the breakdown, read later, follows
// on a "runtime evidence" child span of the span that went without it.
func TestExportHoldBounds(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		rec := newRecorder(t, heldOptions(WithSpanHold(1, time.Minute))...)
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		reg, err := rec.RegisterMetrics(mp)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = reg.Unregister() }()
		s, _, srv := heldServer(t, rec)
		release := holdWorker(t, rec)
		get(t, srv.URL+"/slow")
		get(t, srv.URL+"/fail")
		eventually(t, "the failed request's span exported", func() bool { return s.server("/fail") != nil })
		st := rec.Snapshot().CaptureStats
		if st.HeldNow != 1 || st.HeldOverflow != 1 || s.server("/slow") != nil {
			t.Fatalf("stats %+v: want the slow span held and the failed one sent at once, counted", st)
		}
		failed := s.server("/fail")
		if a := stubAttrs(failed); a[AttrCaptureID] == nil || a[AttrBlockedMs] != nil {
			t.Errorf("the overflowed span: %v, want its capture ID and no breakdown", a)
		}
		release()
		eventually(t, "the held span and the child span", func() bool {
			return s.server("/slow") != nil && len(s.named(EvidenceSpanName)) == 1
		})
		if a := stubAttrs(s.server("/slow")); a[AttrOtherMs] == nil {
			t.Errorf("the held span: %v, want the breakdown", a)
		}
		if ev := s.named(EvidenceSpanName)[0]; ev.Parent.SpanID() != failed.SpanContext.SpanID() {
			t.Errorf("the child span's parent is %v, want the overflowed span %v", ev.Parent.SpanID(), failed.SpanContext.SpanID())
		}
		eventually(t, "nothing held", func() bool { return rec.Snapshot().CaptureStats.HeldNow == 0 })
		if st := rec.Snapshot().CaptureStats; st.HeldAttached != 1 {
			t.Errorf("stats %+v", st)
		}
		if got := heldMetric(t, reader); got["attached"] != 1 || got["overflow"] != 1 || got["timed_out"] != 0 {
			t.Errorf("ctxtrail.evidence.held_spans %v, want attached 1, overflow 1", got)
		}
	})
	t.Run("wait", func(t *testing.T) {
		rec := newRecorder(t, heldOptions(WithSpanHold(8, 100*time.Millisecond))...)
		s, _, srv := heldServer(t, rec)
		release := holdWorker(t, rec)
		get(t, srv.URL+"/slow")
		eventually(t, "the span sent past the wait", func() bool { return s.server("/slow") != nil })
		eventually(t, "nothing held", func() bool { return rec.Snapshot().CaptureStats.HeldNow == 0 })
		if st := rec.Snapshot().CaptureStats; st.HeldTimedOut != 1 {
			t.Fatalf("stats %+v: want one timed out", st)
		}
		if a := stubAttrs(s.server("/slow")); a[AttrBlockedMs] != nil {
			t.Errorf("the span past the wait: %v, want no breakdown", a)
		}
		release()
		eventually(t, "the child span", func() bool { return len(s.named(EvidenceSpanName)) == 1 })
		if ev := s.named(EvidenceSpanName)[0]; ev.Parent.SpanID() != s.server("/slow").SpanContext.SpanID() {
			t.Error("the child span is not the timed-out span's")
		}
	})
}

// heldMetric reads ctxtrail.evidence.held_spans by outcome.
func heldMetric(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "ctxtrail.evidence.held_spans" {
				for _, dp := range sum.DataPoints {
					v, _ := dp.Attributes.Value("outcome")
					out[v.AsString()] = dp.Value
				}
			}
		}
	}
	return out
}

// TestExportHoldShutdown: the Provider's Shutdown lets the hold go before the batch processors
// stop: a span whose capture finishes meanwhile is exported with its breakdown; one whose capture
// is still stuck when half of Shutdown's time is gone is exported without it, counted.
func TestExportHoldShutdown(t *testing.T) {
	for _, finish := range []bool{true, false} {
		name := map[bool]string{true: "capture finishes", false: "capture stuck"}[finish]
		t.Run(name, func(t *testing.T) {
			rec := newRecorder(t, heldOptions(WithSpanHold(8, time.Minute))...)
			s, p, srv := heldServer(t, rec)
			release := holdWorker(t, rec)
			get(t, srv.URL+"/slow")
			eventually(t, "the span held", func() bool { return rec.Snapshot().CaptureStats.HeldNow == 1 })
			if finish {
				time.AfterFunc(100*time.Millisecond, release)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			server := s.server("/slow")
			if server == nil {
				t.Fatalf("the held span was not exported by Shutdown: %v", s.all())
			}
			st := rec.Snapshot().CaptureStats
			_, has := stubAttrs(server)[AttrOtherMs]
			if finish && (!has || st.HeldAttached != 1) || !finish && (has || st.HeldShutdown != 1) {
				t.Errorf("breakdown on the span: %v, stats %+v", has, st)
			}
		})
	}
}

// TestExportHoldKept: a request the head sampler dropped, kept by spans/keep for its 5xx, is
// handed on by keep through the hold, and exported with its breakdown.
func TestExportHoldKept(t *testing.T) {
	rec := newRecorder(t, heldOptions()...)
	s, p, srv := heldServer(t, rec, ctxtrail.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
		ctxtrail.WithKeepErrorsAndSlow())
	get(t, srv.URL+"/fast")
	get(t, srv.URL+"/fail")
	waitCaptures(t, rec, 1)
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the kept span", func() bool { return s.server("/fail") != nil })
	if s.server("/fast") != nil {
		t.Error("the fast unsampled request was exported")
	}
	a := stubAttrs(s.server("/fail"))
	if a[AttrCaptureReason] != "error" || a[AttrOtherMs] == nil {
		t.Errorf("the kept span: %v, want the capture and its breakdown", a)
	}
}

// nopProcessor is the exporting processor behind the hold, doing nothing, so that only the
// hold is measured.
type nopProcessor struct{ ended int }

func (*nopProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *nopProcessor) OnEnd(sdktrace.ReadOnlySpan)                   { p.ended++ }
func (*nopProcessor) ForceFlush(context.Context) error                { return nil }
func (*nopProcessor) Shutdown(context.Context) error                  { return nil }

// endedSpan returns a span as the SDK hands it to processors at its end.
func endedSpan(t testing.TB) sdktrace.ReadOnlySpan {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, s := tp.Tracer("t").Start(context.Background(), "server", oteltrace.WithSpanKind(oteltrace.SpanKindServer))
	s.End()
	return sr.Ended()[0]
}

// pendingFor is a capture pending for a span other than the one measured.
func pendingFor(id byte) *pending {
	return &pending{sc: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: oteltrace.TraceID{id}, SpanID: oteltrace.SpanID{id}, TraceFlags: oteltrace.FlagsSampled})}
}

// TestAllocHoldUncaptured: the hold adds no allocation to the end of a span not captured, with
// no capture pending and with one pending for another span.
func TestAllocHoldUncaptured(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	rec := newRecorder(t, WithFlightRecorder(time.Hour))
	next := &nopProcessor{}
	w := rec.WrapProcessor(next)
	ro := endedSpan(t)
	if n := testing.AllocsPerRun(1000, func() { w.OnEnd(ro) }); n != 0 {
		t.Errorf("no capture pending: %.1f allocations a span end, want 0", n)
	}
	rec.flight.hold.track(pendingFor(1))
	if n := testing.AllocsPerRun(1000, func() { w.OnEnd(ro) }); n != 0 {
		t.Errorf("a capture pending for another span: %.1f allocations a span end, want 0", n)
	}
	if next.ended != 2002 {
		t.Errorf("next saw %d span ends, want every one (2002)", next.ended)
	}
}

// TestExportHoldPassesUnsampled: a span not sampled goes on at once even when a capture awaits
// its breakdown (the exporters drop it; holding it would take a slot from a sampled one), and
// the sampled span of the same capture is held.
func TestExportHoldPassesUnsampled(t *testing.T) {
	rec := newRecorder(t, WithFlightRecorder(time.Hour))
	next := &nopProcessor{}
	w := rec.WrapProcessor(next)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(recordOnly{}))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, s := tp.Tracer("t").Start(context.Background(), "server", oteltrace.WithSpanKind(oteltrace.SpanKindServer))
	s.End()
	ro := sr.Ended()[0]
	p := &pending{sc: ro.SpanContext().WithTraceFlags(oteltrace.FlagsSampled)}
	if !rec.flight.hold.track(p) {
		t.Fatal("the capture was not tracked")
	}
	w.OnEnd(ro)
	if next.ended != 1 || rec.Snapshot().CaptureStats.HeldNow != 0 {
		t.Fatalf("an unsampled span was held: next saw %d, held %d", next.ended, rec.Snapshot().CaptureStats.HeldNow)
	}
	w.OnEnd(sampledAs(ro))
	if next.ended != 1 || rec.Snapshot().CaptureStats.HeldNow != 1 {
		t.Errorf("the sampled span of the capture was not held: next saw %d, held %d", next.ended, rec.Snapshot().CaptureStats.HeldNow)
	}
}

// recordOnly records every span without sampling it.
type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Tracestate: oteltrace.SpanContextFromContext(p.ParentContext).TraceState()}
}
func (recordOnly) Description() string { return "recordOnly" }

// sampledSpan is a span with the sampled flag, as spans/keep hands a kept span on.
type sampledSpan struct{ sdktrace.ReadOnlySpan }

func (s sampledSpan) SpanContext() oteltrace.SpanContext {
	sc := s.ReadOnlySpan.SpanContext()
	return sc.WithTraceFlags(sc.TraceFlags().WithSampled(true))
}

func sampledAs(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan { return sampledSpan{s} }
