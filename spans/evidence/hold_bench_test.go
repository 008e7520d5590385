//go:build unix

package evidence

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/internal/race"
)

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

// BenchmarkHold is what the hold adds to one span's end (OnEnd, the exporting processor a
// no-op): next alone; wrapped with no capture pending; wrapped with captures pending for other
// spans; and a captured span's whole round (tracked at the request's end, held, released with
// the breakdown, forgotten), the capture's own reading left out.
func BenchmarkHold(b *testing.B) {
	rec := newRecorder(b, WithFlightRecorder(time.Hour))
	ro := endedSpan(b)
	next := &nopProcessor{}
	b.Run("next-alone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next.OnEnd(ro)
		}
	})
	w := rec.WrapProcessor(next)
	b.Run("uncaptured/idle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.OnEnd(ro)
		}
	})
	b.Run("uncaptured/4-pending", func(b *testing.B) {
		for i := range 4 {
			rec.flight.hold.track(pendingFor(byte(i + 1)))
		}
		defer func() {
			for i := range 4 {
				rec.flight.hold.untrack(pendingFor(byte(i + 1)))
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			w.OnEnd(ro)
		}
	})
	h := &rec.flight.hold
	p := &pending{sc: ro.SpanContext()}
	bd := Breakdown{RunningMs: 1, BlockedMs: 150, Goroutines: 1}
	b.Run("captured/round", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.track(p)
			w.OnEnd(ro)
			h.done(p, CaptureInfo{}, bd, true)
			h.untrack(p)
		}
	})
	// The request's share of the round: tracked at End, held at the span's end.
	b.Run("captured/request-side", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.track(p)
			w.OnEnd(ro)
			b.StopTimer()
			h.done(p, CaptureInfo{}, bd, true)
			h.untrack(p)
			b.StartTimer()
		}
	})
}

// BenchmarkPairedHoldRequest: the small request of the paired benchmarks (httpctx, the
// middleware with the flight recorder armed, nothing slow enough to capture), its spans into a
// batch span processor bare against behind the Recorder's hold, in paired blocks.
func BenchmarkPairedHoldRequest(b *testing.B) {
	rec := newRecorder(b, WithFlightRecorder(time.Hour))
	provider := func(wrap bool) *sdktrace.TracerProvider {
		var sp sdktrace.SpanProcessor = sdktrace.NewBatchSpanProcessor(discardExporter{})
		if wrap {
			sp = rec.WrapProcessor(sp)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(sp))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp
	}
	base, other := benchHandler(b, provider(false), rec), benchHandler(b, provider(true), rec)
	b.ReportAllocs()
	report(b, pairbench.Run(b, 2000, base, other))
}

// BenchmarkPairedHoldSpanEnd: one span started and ended through the SDK into a batch span
// processor, bare against behind the hold (no capture pending), in paired blocks.
func BenchmarkPairedHoldSpanEnd(b *testing.B) {
	rec := newRecorder(b, WithFlightRecorder(time.Hour))
	side := func(wrap bool) func(int) {
		var sp sdktrace.SpanProcessor = sdktrace.NewBatchSpanProcessor(discardExporter{})
		if wrap {
			sp = rec.WrapProcessor(sp)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		tr := tp.Tracer("t")
		return func(ops int) {
			for range ops {
				_, s := tr.Start(context.Background(), "server")
				s.End()
			}
		}
	}
	base, other := side(false), side(true)
	b.ReportAllocs()
	report(b, pairbench.Run(b, 2000, base, other))
}
