package spans

import (
	"context"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/race"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestAllocProcessor: BENCHMARKS.md's goal "idle hooks add 0 allocations per span" as a test,
// for the processor disabled, enabled with idle hooks, and the monitor.
func TestAllocProcessor(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, root := tp.Tracer("alloc").Start(context.Background(), "root")
	defer root.End()
	_, s := tp.Tracer("alloc").Start(ctx, "child")
	rw := s.(sdktrace.ReadWriteSpan)
	s.End()
	ro := rec.Ended()[0]

	for _, tt := range []struct {
		name string
		proc sdktrace.SpanProcessor
	}{
		{"disabled", NewProcessor(WithHooks(idleHooks), WithDisabled())},
		{"hooks idle", NewProcessor(WithHooks(idleHooks))},
		{"monitor", NewMonitor()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, func() {
				tt.proc.OnStart(ctx, rw)
				tt.proc.OnEnd(ro)
			}); n != 0 {
				t.Errorf("OnStart+OnEnd allocate %v times per span, want 0", n)
			}
		})
	}
}

// TestAllocRun: what Run costs beyond the SDK's span, with and without a Processor that could
// claim the span for before/after hooks. Without one, Run hands the tracer the caller's context
// itself and saves the probe's allocation; with one, the hooks still fire.
func TestAllocRun(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("alloc")
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	bySDK := testing.AllocsPerRun(200, func() {
		_, s := tracer.Start(ctx, "step")
		s.End()
	})
	opts := []Option{WithTracer(tracer)}
	run := func() float64 {
		return testing.AllocsPerRun(200, func() { _ = Run(ctx, "step", fn, opts...) })
	}

	saved := claiming.Swap(0) // other tests' Processors are never shut down
	defer claiming.Store(saved)
	if n := run(); n != bySDK {
		t.Errorf("Run without a Processor: %v allocations, the SDK's span alone %v", n, bySDK)
	}

	p := NewProcessor(WithHooks(Hooks{Before: func(CallInfo) {}}))
	tp.RegisterSpanProcessor(p)
	if n := run(); n <= bySDK {
		t.Errorf("Run with a Processor: %v allocations, the SDK's %v: was the probe skipped?", n, bySDK)
	}
	var before int
	p.AddHooks(Hooks{Before: func(CallInfo) { before++ }})
	_ = Run(ctx, "step", fn, WithTracer(tracer))
	_ = p.Shutdown(context.Background())
	_ = Run(ctx, "step", fn, WithTracer(tracer))
	if before != 1 || claiming.Load() != 0 {
		t.Errorf("before hooks fired %d times (want 1), %d processors claiming after shutdown", before, claiming.Load())
	}
}

// claiming counts exactly the Processors that are enabled and not shut down, through every
// transition, so that Run takes its probe whenever one could claim the span.
func TestClaimingFollowsProcessors(t *testing.T) {
	saved := claiming.Swap(0) // other tests' Processors are never shut down
	defer claiming.Store(saved)
	want := func(step string, n int64) {
		t.Helper()
		if got := claiming.Load(); got != n {
			t.Fatalf("%s: %d processors claiming, want %d", step, got, n)
		}
	}
	p := NewProcessor(WithDisabled())
	want("created disabled", 0)
	p.Enable()
	want("enabled", 1)
	p.Enable()
	want("enabled twice", 1)
	q := NewProcessor()
	want("a second, enabled", 2)
	p.Disable()
	want("first disabled", 1)
	_ = q.Shutdown(context.Background())
	_ = q.Shutdown(context.Background())
	want("second shut down twice", 0)
	p.Enable()
	want("first enabled again", 1)
	_ = p.Shutdown(context.Background())
	p.Enable()
	want("enabled after shutdown", 0)
}

// TestAllocMonitorLatency: recording a request (a local root span's end) in the latency table,
// keeping examples included, allocates nothing once its route has a row. The end times move on
// by a second each run, so the windows rotate and examples are kept during the measurement.
func TestAllocMonitorLatency(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	m := NewMonitor()
	base := time.Now()
	var roots []sdktrace.ReadOnlySpan
	var starts []sdktrace.ReadWriteSpan
	for i := range 210 {
		end := base.Add(time.Duration(i) * time.Second)
		_, s := tp.Tracer("alloc").Start(context.Background(), "GET /items/{id}",
			trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-time.Duration(i%7)*time.Millisecond)))
		starts = append(starts, s.(sdktrace.ReadWriteSpan))
		s.End(trace.WithTimestamp(end))
	}
	roots = rec.Ended()
	m.OnStart(context.Background(), starts[0]) // the row is made here, outside the measurement
	m.OnEnd(roots[0])
	i := 1
	if n := testing.AllocsPerRun(200, func() {
		m.OnStart(context.Background(), starts[i])
		m.OnEnd(roots[i])
		i++
	}); n != 0 {
		t.Errorf("recording a request allocates %v times, want 0", n)
	}
	if rows := m.Latency(true); len(rows) != 1 || rows[0].Requests == 0 || len(rows[0].Examples) == 0 {
		t.Errorf("nothing recorded: %+v", rows)
	}
}
