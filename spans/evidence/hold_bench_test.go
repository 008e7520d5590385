//go:build unix

package evidence

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
)

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
