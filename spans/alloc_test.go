package spans

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestAllocProcessor: BENCHMARKS.md's goal "idle hooks add 0 allocations per span" as a test,
// for the processor disabled, enabled with idle hooks, and the monitor.
func TestAllocProcessor(t *testing.T) {
	if raceEnabled {
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
