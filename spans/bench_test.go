//go:build unix

package spans

import (
	"context"
	"flag"
	"strconv"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// idleHooks are registered but do nothing: what a hook costs when it has nothing to do.
var idleHooks = Hooks{
	Init:    func(InitInfo) {},
	Before:  func(CallInfo) {},
	After:   func(AfterInfo) {},
	Destroy: func(DestroyInfo) {},
}

// benchSetups are the tracer providers compared, each with the batch span processor (and a
// no-op exporter) that every real setup has. "bare" is the baseline; benchstat -col /config
// puts the others beside it.
var benchSetups = []struct {
	name  string
	procs func() []sdktrace.SpanProcessor
}{
	{name: "bare", procs: func() []sdktrace.SpanProcessor { return nil }},
	{name: "disabled", procs: func() []sdktrace.SpanProcessor {
		return []sdktrace.SpanProcessor{NewProcessor(WithHooks(idleHooks), WithDisabled())}
	}},
	{name: "hooks-idle", procs: func() []sdktrace.SpanProcessor {
		return []sdktrace.SpanProcessor{NewProcessor(WithHooks(idleHooks))}
	}},
	{name: "monitor", procs: func() []sdktrace.SpanProcessor {
		return []sdktrace.SpanProcessor{NewMonitor()}
	}},
	{name: "hooks+monitor", procs: func() []sdktrace.SpanProcessor {
		return []sdktrace.SpanProcessor{NewProcessor(WithHooks(idleHooks)), NewMonitor()}
	}},
}

func benchProvider(b *testing.B, procs []sdktrace.SpanProcessor) *sdktrace.TracerProvider {
	opts := make([]sdktrace.TracerProviderOption, 0, len(procs)+1)
	for _, p := range procs {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	opts = append(opts, sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	tp := sdktrace.NewTracerProvider(opts...)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// reportCPU starts measuring; the returned func reports CPU time per op as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := pairbench.CPUTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(pairbench.CPUTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkSpan is the cost of one child span's start and end with each setup.
func BenchmarkSpan(b *testing.B) {
	for _, setup := range benchSetups {
		b.Run("config="+setup.name, func(b *testing.B) {
			tracer := benchProvider(b, setup.procs()).Tracer("bench")
			ctx, root := tracer.Start(context.Background(), "root")
			defer root.End()
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				_, s := tracer.Start(ctx, "child")
				s.End()
			}
		})
	}
}

// BenchmarkSpanParallel is BenchmarkSpan from every P at once: the monitor's shards and the
// hooks' atomics under contention.
func BenchmarkSpanParallel(b *testing.B) {
	for _, setup := range benchSetups {
		b.Run("config="+setup.name, func(b *testing.B) {
			tracer := benchProvider(b, setup.procs()).Tracer("bench")
			ctx, root := tracer.Start(context.Background(), "root")
			defer root.End()
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, s := tracer.Start(ctx, "child")
					s.End()
				}
			})
		})
	}
}

// BenchmarkRun compares spans.Run with the same work done by hand (Start, call, End), both
// without and with the hooks and the monitor, so the helper's own cost shows.
func BenchmarkRun(b *testing.B) {
	fn := func(context.Context) error { return nil }
	var withTracer Option
	setups := []struct {
		name  string
		procs func() []sdktrace.SpanProcessor
		run   func(ctx context.Context, tracer trace.Tracer)
	}{
		{name: "by-hand", procs: benchSetups[0].procs, run: func(ctx context.Context, tracer trace.Tracer) {
			ctx, s := tracer.Start(ctx, "child")
			_ = fn(ctx)
			s.End()
		}},
		{name: "Run", procs: benchSetups[0].procs, run: func(ctx context.Context, tracer trace.Tracer) {
			_ = Run(ctx, "child", fn, withTracer)
		}},
		{name: "Run+hooks+monitor", procs: benchSetups[4].procs, run: func(ctx context.Context, tracer trace.Tracer) {
			_ = Run(ctx, "child", fn, withTracer)
		}},
		{name: "Run-provider-lookup", procs: benchSetups[0].procs, run: func(ctx context.Context, _ trace.Tracer) {
			_ = Run(ctx, "child", fn)
		}},
	}
	for _, setup := range setups {
		b.Run("config="+setup.name, func(b *testing.B) {
			tracer := benchProvider(b, setup.procs()).Tracer(TracerName)
			withTracer = WithTracer(tracer) // made once, as a service would
			ctx, root := tracer.Start(context.Background(), "root")
			defer root.End()
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				setup.run(ctx, tracer)
			}
		})
	}
}

// BenchmarkProcessorDirect calls OnStart and OnEnd of one processor directly on a real SDK span
// and its real end snapshot, without the SDK around them: the processor's own cost, free of the
// allocation and export noise of BenchmarkSpan.
func BenchmarkProcessorDirect(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, root := tp.Tracer("bench").Start(context.Background(), "root")
	defer root.End()
	_, s := tp.Tracer("bench").Start(ctx, "child")
	rw := s.(sdktrace.ReadWriteSpan)
	s.End()
	ro := rec.Ended()[0]

	for _, setup := range []struct {
		name string
		proc sdktrace.SpanProcessor
	}{
		{name: "disabled", proc: NewProcessor(WithHooks(idleHooks), WithDisabled())},
		{name: "hooks-idle", proc: NewProcessor(WithHooks(idleHooks))},
		{name: "monitor", proc: NewMonitor()},
	} {
		b.Run("config="+setup.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				setup.proc.OnStart(ctx, rw)
				setup.proc.OnEnd(ro)
			}
		})
	}
}

// BenchmarkSpanPaired measures the goal's ratio directly: the same child span start+end under
// "bare" and under another config, run in alternating blocks inside one benchmark, each block
// timed on its own, the order within each pair drawn at random. Load from elsewhere on a
// shared machine then falls on both configs alike, which separate benchmark runs cannot
// promise. It reports each side's wall and CPU time per span over all blocks, and the medians
// of the per-pair ratios (config / bare), which one preempted block cannot move. config=bare
// pairs bare with itself: the method's own bias, which should be a ratio of 1.
func BenchmarkSpanPaired(b *testing.B) {
	for _, setup := range benchSetups {
		b.Run("config="+setup.name, func(b *testing.B) {
			benchPaired(b, benchSetups[0].procs(), setup.procs())
		})
	}
}

// pairBlock is BenchmarkSpanPaired's block: short blocks follow the machine's drift closely but
// make each side start cold more often (its structures evicted by the other side's block);
// the monitor, with more to warm, pays more for that, so both lengths are worth a look.
var pairBlock = flag.Int("spans.pairblock", 2048, "spans per block in BenchmarkSpanPaired")

func benchPaired(b *testing.B, baseProcs, procs []sdktrace.SpanProcessor) {
	base, other := spanSide(b, baseProcs), spanSide(b, procs)
	b.ReportAllocs()
	r := pairbench.Run(b, *pairBlock, base, other)
	b.ReportMetric(r.PerOp(r.BaseWall), "bare-ns/span")
	b.ReportMetric(r.PerOp(r.OtherWall), "config-ns/span")
	b.ReportMetric(r.PerOp(r.BaseCPU), "bare-cpu-ns/span")
	b.ReportMetric(r.PerOp(r.OtherCPU), "config-cpu-ns/span")
	b.ReportMetric(r.WallRatio, "ratio")
	b.ReportMetric(r.CPURatio, "cpu-ratio")
}

// spanSide is one side of a paired benchmark: n child spans of one root, started and ended on
// a provider with procs.
func spanSide(b *testing.B, procs []sdktrace.SpanProcessor) func(int) {
	tracer := benchProvider(b, procs).Tracer("bench")
	ctx, root := tracer.Start(context.Background(), "root")
	b.Cleanup(func() { root.End() })
	return func(n int) {
		for range n {
			_, sp := tracer.Start(ctx, "child")
			sp.End()
		}
	}
}

// BenchmarkMonitorStats is the cost of Stats (which holds every shard of the active list while
// it reads) and of the page's active list, with n spans active.
func BenchmarkMonitorStats(b *testing.B) {
	for _, n := range []int{300, 10_000} {
		m := NewMonitor(WithMaxTracked(2 * n))
		tracer := benchProvider(b, []sdktrace.SpanProcessor{m}).Tracer("bench")
		names := []string{"GET /users/{id}", "db.query", "render", "cache.get"}
		for i := range n {
			_, _ = tracer.Start(context.Background(), names[i%len(names)]) // left active
		}
		b.Run("active="+strconv.Itoa(n)+"/op=Stats", func(b *testing.B) {
			for b.Loop() {
				if st := m.Stats(); st.Active != int64(n) {
					b.Fatalf("active %d, want %d", st.Active, n)
				}
			}
		})
		b.Run("active="+strconv.Itoa(n)+"/op=ActiveSpans", func(b *testing.B) {
			for b.Loop() {
				_ = m.ActiveSpans(DefaultPageLimit)
			}
		})
	}
}
