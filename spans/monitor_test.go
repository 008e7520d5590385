package spans

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// newMonitored returns a tracer whose provider feeds m (and nothing else, so that spans cost
// only what the SDK and the monitor spend on them).
func newMonitored(t testing.TB, m *Monitor, opts ...sdktrace.TracerProviderOption) trace.Tracer {
	t.Helper()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(m)}, opts...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test")
}

// waitFor polls cond until it holds, failing the test if it never does: a guard against a hang,
// not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // what it waits for takes milliseconds
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func nameStats(st Stats) map[string]NameStats {
	out := make(map[string]NameStats)
	for _, n := range st.ByName {
		out[fmt.Sprintf("%s/%s", n.Name, kindName(n.Kind))] = n
	}
	return out
}

func TestMonitorCountsExactUnderConcurrency(t *testing.T) {
	m := NewMonitor(WithMaxTracked(20_000)) // room for all: the cap is split among shards
	tracer := newMonitored(t, m)
	const goroutines, each = 50, 200 // 10,000 spans
	kinds := []trace.SpanKind{trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer}

	started := make(chan []trace.Span, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans := make([]trace.Span, 0, each)
			for i := range each {
				k := kinds[(g+i)%len(kinds)]
				_, s := tracer.Start(context.Background(), fmt.Sprintf("op-%d", i%4), trace.WithSpanKind(k))
				spans = append(spans, s)
			}
			started <- spans
		}()
	}
	wg.Wait()
	close(started)

	st := m.Stats()
	if st.Created != 10_000 || st.Ended != 0 || st.Active != 10_000 || st.Tracked != 10_000 || st.Overflow != 0 {
		t.Fatalf("all started: created %d ended %d active %d tracked %d overflow %d; want 10000 0 10000 10000 0",
			st.Created, st.Ended, st.Active, st.Tracked, st.Overflow)
	}
	if n := len(m.ActiveSpans(0)); n != 10_000 {
		t.Fatalf("ActiveSpans = %d, want 10000", n)
	}
	if n := len(m.ActiveSpans(25)); n != 25 {
		t.Fatalf("ActiveSpans(25) = %d spans", n)
	}

	for spans := range started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range spans {
				s.End()
			}
		}()
	}
	wg.Wait()

	st = m.Stats()
	if st.Created != 10_000 || st.Ended != 10_000 || st.Active != 0 || st.Tracked != 0 || st.Leaks != 0 {
		t.Fatalf("all ended: created %d ended %d active %d tracked %d leaks %d; want 10000 10000 0 0 0",
			st.Created, st.Ended, st.Active, st.Tracked, st.Leaks)
	}
	if n := len(m.ActiveSpans(0)); n != 0 {
		t.Fatalf("ActiveSpans after all ended = %d, want 0", n)
	}
	// Each name got 2,500 spans, spread evenly over 5 kinds: 500 per row.
	rows := nameStats(st)
	if len(rows) != 20 {
		t.Fatalf("by-name rows = %d, want 20 (4 names x 5 kinds)", len(rows))
	}
	for key, row := range rows {
		if row.Created != 500 || row.Ended != 500 || row.Active != 0 {
			t.Errorf("%s: created %d ended %d active %d, want 500 500 0", key, row.Created, row.Ended, row.Active)
		}
	}
	if len(st.ByKind) != 5 {
		t.Fatalf("by-kind rows = %d, want 5", len(st.ByKind))
	}
	for _, k := range st.ByKind {
		if k.Created != 2000 || k.Ended != 2000 {
			t.Errorf("kind %v: created %d ended %d, want 2000 2000", k.Kind, k.Created, k.Ended)
		}
	}
}

// Stats taken while spans start, get renamed and end on every core must stay consistent: with
// 100 spans held open and each worker holding at most one more, every snapshot shows between
// 100 and 100+workers active, no row has a negative active count, the rows sum to the totals,
// and no total goes back from one snapshot to the next. (A span counted twice for an instant
// would need a pause inside Stats to be caught reliably; this checks what churn can show.)
func TestMonitorStatsIsASnapshotUnderChurn(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m)
	const held, workers = 100, 8
	var open []trace.Span
	for i := range held {
		_, s := tracer.Start(context.Background(), fmt.Sprintf("held-%d", i%3))
		open = append(open, s)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names := []string{"GET", "db.query", "render"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, s := tracer.Start(context.Background(), names[(w+i)%len(names)])
				if i%5 == 0 {
					s.SetName("GET /users/{id}") // renamed while active, as a router does
				}
				s.End()
			}
		}()
	}
	var last Stats
	for range 300 {
		st := m.Stats()
		if st.Created < last.Created || st.Ended < last.Ended {
			t.Errorf("counts went back: created %d -> %d, ended %d -> %d", last.Created, st.Created, last.Ended, st.Ended)
		}
		last = st
		if st.Active < held || st.Active > held+workers {
			t.Errorf("active %d, want %d to %d", st.Active, held, held+workers)
		}
		if st.Created != st.Ended+uint64(st.Active) {
			t.Errorf("created %d != ended %d + active %d", st.Created, st.Ended, st.Active)
		}
		var created, ended uint64
		for _, r := range st.ByName {
			if r.Active < 0 {
				t.Errorf("row %q has %d active", r.Name, r.Active)
			}
			created, ended = created+r.Created, ended+r.Ended
		}
		if created != st.Created || ended != st.Ended {
			t.Errorf("rows sum to created %d ended %d, totals %d %d", created, ended, st.Created, st.Ended)
		}
		if t.Failed() {
			break
		}
	}
	close(stop)
	wg.Wait()
	for _, s := range open {
		s.End()
	}
	if st := m.Stats(); st.Active != 0 || st.Created != st.Ended {
		t.Fatalf("after all ended: %+v", st.Counts)
	}
}

func TestMonitorFlagsLeakAndForgetsIt(t *testing.T) {
	leaks := make(chan ActiveSpan, 10)
	m := NewMonitor(
		WithLeakThreshold(time.Minute),
		WithLeakCallback(func(a ActiveSpan) { leaks <- a }),
		WithLeakCheckInterval(5*time.Millisecond),
	)
	tracer := newMonitored(t, m)
	ctx, parent := tracer.Start(context.Background(), "request")
	// A span that began two minutes ago and never ended: a leak without waiting a minute.
	_, stuck := tracer.Start(ctx, "stuck", trace.WithTimestamp(time.Now().Add(-2*time.Minute)))
	_, fresh := tracer.Start(ctx, "fresh")

	var got ActiveSpan
	select {
	case got = <-leaks:
	case <-time.After(5 * time.Second): // checks run every 5 ms: a hang detector that fails fast
		t.Fatal("the leak callback never fired")
	}
	if got.Name != "stuck" || got.SpanID != stuck.SpanContext().SpanID() || got.ParentSpanID != parent.SpanContext().SpanID() ||
		got.TraceID != parent.SpanContext().TraceID() || !got.Leak || got.Age < 2*time.Minute {
		t.Fatalf("leak = %+v, want the stuck span, child of request, aged 2m+", got)
	}
	if again := m.collect(time.Now(), collectNewLeaks, 0); len(again) != 0 {
		t.Fatalf("a leak already reported was found new again: %+v", again)
	}
	if l := m.Leaks(); len(l) != 1 || l[0].SpanID != got.SpanID {
		t.Fatalf("Leaks() = %+v, want the stuck span only", l)
	}
	if st := m.Stats(); st.Leaks != 1 || st.LeaksReported != 1 || st.Active != 3 {
		t.Fatalf("Stats leaks %d reported %d active %d, want 1 1 3", st.Leaks, st.LeaksReported, st.Active)
	}

	stuck.End()
	if l := m.Leaks(); len(l) != 0 {
		t.Fatalf("Leaks() after the span ended = %+v, want none", l)
	}
	for _, a := range m.ActiveSpans(0) {
		if a.SpanID == got.SpanID {
			t.Fatal("an ended span is still in the active list")
		}
	}
	if st := m.Stats(); st.Leaks != 0 || st.Active != 2 {
		t.Fatalf("Stats after end: leaks %d active %d, want 0 2", st.Leaks, st.Active)
	}
	fresh.End()
	parent.End()
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case extra := <-leaks:
		t.Fatalf("the leak callback fired twice or for a fresh span: %+v", extra)
	default:
	}
}

func TestMonitorBoundedWithAMillionLeakedSpans(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a million spans")
	}
	const total, maxTracked, maxNames = 1_000_000, 10_000, 100
	m := NewMonitor(WithMaxTracked(maxTracked), WithMaxNames(maxNames))
	tracer := newMonitored(t, m)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				name := "leaky"
				if i%10 == 0 {
					name = "leaky-" + fmt.Sprint(i) // 100,000 distinct names
				}
				_, _ = tracer.Start(context.Background(), name) // never ended
			}
		}()
	}
	wg.Wait()

	runtime.GC()
	runtime.ReadMemStats(&after)
	st := m.Stats()
	if st.Created != total || st.Active != total || st.Ended != 0 {
		t.Fatalf("created %d active %d ended %d, want %d %d 0", st.Created, st.Active, st.Ended, total, total)
	}
	if st.Tracked != maxTracked || st.Overflow != total-maxTracked {
		t.Fatalf("tracked %d overflow %d, want %d %d", st.Tracked, st.Overflow, maxTracked, total-maxTracked)
	}
	// The listed spans count by name, 100 names and the rest under "(other)"; the spans the
	// full list turned away count under "(untracked)".
	if n := len(st.ByName); n != maxNames+2 || !st.ByName[n-2].Other || !st.ByName[n-1].Untracked {
		t.Fatalf("by-name rows = %d, want %d, then an (other) and an (untracked) row", n, maxNames)
	}
	if u := st.ByName[len(st.ByName)-1]; u.Created != total-maxTracked || u.Active != total-maxTracked {
		t.Fatalf("untracked row = %+v, want %d created and active", u, total-maxTracked)
	}
	var sum uint64
	for _, n := range st.ByName {
		sum += n.Created
	}
	if sum != total {
		t.Fatalf("by-name created sums to %d, want %d", sum, total)
	}
	// A million SDK spans are ~400 MB; the monitor may keep its capped list and names only.
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth with %d never-ended spans: %.1f MiB", total, float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Fatalf("heap grew %.1f MiB, want under 16 MiB", float64(growth)/(1<<20))
	}
}

func TestMonitorNameCapAndClip(t *testing.T) {
	m := NewMonitor(WithMaxNames(2), WithMaxTracked(3))
	tracer := newMonitored(t, m)
	long := strings.Repeat("é", 200) // 400 bytes, two per rune
	var spans []trace.Span
	for _, name := range []string{"a", long, "c", "d"} {
		_, s := tracer.Start(context.Background(), name)
		spans = append(spans, s)
	}
	st := m.Stats()
	if st.Tracked != 3 || st.Overflow != 1 {
		t.Fatalf("tracked %d overflow %d, want 3 1", st.Tracked, st.Overflow)
	}
	// Active: the first two names in order get rows, the third joins (other); "d" found the
	// list full.
	want := []string{"a", "c", otherName, untrackName}
	if got := rowNames(st); !slices.Equal(got, want) {
		t.Fatalf("rows while active = %q, want %q", got, want)
	}
	if rows := m.pageData(0, trace.TraceID{}).Stats.ByName; !rows[3].Untracked || rows[3].Kind != "internal" || rows[3].Active != 1 {
		t.Fatalf("page row %+v, want the untracked internal span", rows[3])
	}
	for _, s := range spans {
		s.End()
	}
	// Ended: names get counters in the order their spans end, two of them.
	st = m.Stats()
	clipped := clipName(long)
	if got := rowNames(st); !slices.Equal(got, []string{"a", clipped, otherName, untrackName}) {
		t.Fatalf("rows after end = %q, want a, the clipped name, (other), (untracked)", got)
	}
	if len(clipped) > maxNameLen || !utf8.ValidString(clipped) {
		t.Errorf("kept name of %d bytes, valid UTF-8 %v; want <= %d and valid", len(clipped), utf8.ValidString(clipped), maxNameLen)
	}
	if st.Active != 0 || st.Created != 4 || st.Ended != 4 || st.Tracked != 0 {
		t.Fatalf("after end: created %d ended %d active %d tracked %d, want 4 4 0 0", st.Created, st.Ended, st.Active, st.Tracked)
	}
	for _, n := range st.ByName {
		if n.Active != 0 || n.Created != 1 || n.Ended != 1 {
			t.Errorf("row %q = %+v, want one span created and ended", n.Name, n.Counts)
		}
	}
}

func rowNames(st Stats) []string {
	var out []string
	for _, n := range st.ByName {
		out = append(out, n.Name)
	}
	return out
}

func TestMonitorRenamedSpanMovesRow(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m)
	_, s := tracer.Start(context.Background(), "GET")
	if r := nameStats(m.Stats())["GET/internal"]; r.Created != 1 || r.Active != 1 {
		t.Fatalf("row of the start name = %+v, want one active span", r)
	}
	s.SetName("GET /users/{id}") // as a router does once it knows the route
	rows := nameStats(m.Stats())
	if r := rows["GET /users/{id}/internal"]; r.Created != 1 || r.Active != 1 {
		t.Fatalf("row of the new name = %+v, want one active span", r)
	}
	if _, ok := rows["GET/internal"]; ok {
		t.Fatal("the start name still has a row after the rename")
	}
	s.End()
	st := m.Stats()
	rows = nameStats(st)
	if r := rows["GET /users/{id}/internal"]; r.Created != 1 || r.Ended != 1 || r.Active != 0 {
		t.Fatalf("row of the end name = %+v, want created and ended once", r)
	}
	if _, ok := rows["GET/internal"]; ok || len(rows) != 1 || st.Created != 1 || st.Ended != 1 {
		t.Fatalf("rows = %v, totals %+v; want one row and one span", rows, st.Counts)
	}
}

// dropNamed drops spans whose name starts with "drop".
type dropNamed struct{}

func (dropNamed) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if strings.HasPrefix(p.Name, "drop") {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (dropNamed) Description() string { return "dropNamed" }

func TestMonitorSamplerCountsSampledOut(t *testing.T) {
	m := NewMonitor()
	sampler := m.Sampler(dropNamed{})
	if d := sampler.Description(); d != "spans.Monitor.Sampler{dropNamed}" {
		t.Errorf("Description = %q", d)
	}
	tracer := newMonitored(t, m, sdktrace.WithSampler(sampler))
	for range 5 {
		_, s := tracer.Start(context.Background(), "drop me", trace.WithSpanKind(trace.SpanKindClient))
		if s.IsRecording() {
			t.Fatal("the wrapped sampler's drop decision was not kept")
		}
		s.End()
	}
	for range 3 {
		_, s := tracer.Start(context.Background(), "keep me")
		s.End()
	}
	st := m.Stats()
	if st.SampledOut != 5 || st.Created != 3 || st.Ended != 3 {
		t.Fatalf("sampled out %d created %d ended %d, want 5 3 3", st.SampledOut, st.Created, st.Ended)
	}
	rows := nameStats(st)
	if r := rows["drop me/client"]; r.SampledOut != 5 || r.Created != 0 {
		t.Errorf("drop row = %+v, want 5 sampled out, 0 created", r)
	}
	if r := rows["keep me/internal"]; r.SampledOut != 0 || r.Created != 3 {
		t.Errorf("keep row = %+v, want 3 created", r)
	}

	// nil wraps the SDK's default sampler: parent-based, always on.
	m2 := NewMonitor()
	tracer2 := newMonitored(t, m2, sdktrace.WithSampler(m2.Sampler(nil)))
	_, s := tracer2.Start(context.Background(), "root")
	s.End()
	if st := m2.Stats(); st.Created != 1 || st.SampledOut != 0 {
		t.Fatalf("nil sampler: created %d sampled out %d, want 1 0", st.Created, st.SampledOut)
	}
}

func TestMonitorStatsLoggerStops(t *testing.T) {
	var logs statsLines
	m := NewMonitor(WithStatsLogger(slog.New(slog.NewJSONHandler(&logs, nil)), time.Hour))
	tracer := newMonitored(t, m)
	_, s := tracer.Start(context.Background(), "one")
	s.End()
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries := logs.monitorLines(t)
	if len(entries) != 1 {
		t.Fatalf("log lines = %d, want 1 (the one at Shutdown)", len(entries))
	}
	if f := entries[0]; f["created"] != float64(1) || f["ended"] != float64(1) || f["active"] != float64(0) {
		t.Fatalf("logged fields = %v, want created 1 ended 1 active 0", f)
	}
	// After Shutdown the monitor ignores spans but still answers.
	_, s = tracer.Start(context.Background(), "late")
	s.End()
	if st := m.Stats(); st.Created != 1 {
		t.Fatalf("created after Shutdown = %d, want 1", st.Created)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := m.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMonitorStatsLoggerTicks(t *testing.T) {
	var logs statsLines
	m := NewMonitor(WithStatsLogger(slog.New(slog.NewJSONHandler(&logs, nil)), time.Millisecond))
	defer func() { _ = m.Shutdown(context.Background()) }()
	waitFor(t, "two periodic log lines", func() bool { return len(logs.monitorLines(t)) >= 2 })
}

// statsLines collects the JSON lines a slog.JSONHandler writes, from any goroutine.
type statsLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *statsLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// monitorLines returns the "spans monitor" lines' fields.
func (l *statsLines) monitorLines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var f map[string]any
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if f["msg"] == "spans monitor" {
			out = append(out, f)
		}
	}
	return out
}

func TestMonitorShutdownHonoursContext(t *testing.T) {
	block := make(chan struct{})
	m := NewMonitor(WithLeakThreshold(time.Minute), WithLeakCheckInterval(time.Millisecond),
		WithLeakCallback(func(ActiveSpan) { <-block }))
	tracer := newMonitored(t, m)
	var unblock sync.Once
	release := func() { unblock.Do(func() { close(block) }) }
	t.Cleanup(release) // runs before the provider's Shutdown, even if the test fails early
	_, s := tracer.Start(context.Background(), "stuck", trace.WithTimestamp(time.Now().Add(-time.Hour)))
	defer s.End()
	waitFor(t, "the leak callback", func() bool { return m.leaksSent.Load() > 0 }) // it now blocks
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("Shutdown with an ended context and a stuck callback = %v, want context.Canceled", err)
	}
	release()
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown once the callback returned = %v", err)
	}
}

func TestMonitorOptionDefaults(t *testing.T) {
	m := NewMonitor(WithMaxTracked(0), WithMaxNames(-1), WithLeakThreshold(0), WithLeakCheckInterval(-time.Second),
		WithStatsLogger(nil, 0), nil)
	defer func() { _ = m.Shutdown(context.Background()) }()
	if m.cfg.maxTracked != DefaultMaxTracked || m.cfg.maxNames != DefaultMaxNames ||
		m.cfg.leakThreshold != DefaultLeakThreshold || m.cfg.leakInterval != 30*time.Second {
		t.Fatalf("config = %+v, want the defaults", m.cfg)
	}
	select {
	case <-m.done:
	default:
		t.Fatal("a monitor with no callback and no logger started a goroutine")
	}

	tiny := NewMonitor(WithLeakThreshold(time.Nanosecond), WithLeakCallback(func(ActiveSpan) {}))
	defer func() { _ = tiny.Shutdown(context.Background()) }()
	if tiny.cfg.leakInterval != time.Millisecond {
		t.Fatalf("leak check interval for a 1ns threshold = %v, want the 1ms floor", tiny.cfg.leakInterval)
	}
}

// fixedSpanID gives every span the same span ID, in a new trace each time: a broken generator.
type fixedSpanID struct{ n byte }

func (g *fixedSpanID) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.n++
	return trace.TraceID{15: g.n}, trace.SpanID{7: 1}
}

func (g *fixedSpanID) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return trace.SpanID{7: 1}
}

func TestMonitorSameSpanIDInTwoTraces(t *testing.T) {
	m := NewMonitor()
	tracer := newMonitored(t, m, sdktrace.WithIDGenerator(&fixedSpanID{}))
	_, first := tracer.Start(context.Background(), "first")
	_, second := tracer.Start(context.Background(), "second") // same span ID, another trace
	st := m.Stats()
	if st.Created != 2 || st.Active != 2 || st.Tracked != 1 || st.Overflow != 1 {
		t.Fatalf("both active: %+v tracked %d overflow %d, want 2 active, 1 listed, 1 overflow", st.Counts, st.Tracked, st.Overflow)
	}
	second.End() // must not take the first span's place in the list
	if a := m.ActiveSpans(0); len(a) != 1 || a[0].Name != "first" {
		t.Fatalf("active list after the second ended = %+v, want the first span", a)
	}
	first.End()
	st = m.Stats()
	if st.Created != 2 || st.Ended != 2 || st.Active != 0 || st.Tracked != 0 {
		t.Fatalf("both ended: %+v tracked %d, want 2 created and ended, none active", st.Counts, st.Tracked)
	}
	for _, r := range st.ByName {
		if r.Active != 0 {
			t.Errorf("row %q kind %v still active: %+v", r.Name, r.Kind, r.Counts)
		}
	}
}
