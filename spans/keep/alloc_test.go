package keep_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestAllocCaptureDropped holds the capture of a request that is dropped (most of them) to one
// allocation over recording its spans at all: the trace's buffer.
func TestAllocCaptureDropped(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	allocs := func(sampler sdktrace.Sampler, capture bool) float64 {
		bsp := sdktrace.NewBatchSpanProcessor(discard{})
		var sp sdktrace.SpanProcessor = bsp
		if capture {
			sp, sampler = keep.NewProcessor([]sdktrace.SpanProcessor{bsp}), keep.Sampler(sampler)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(sp))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		tr := tp.Tracer("alloc")
		trace5(tr, false) // the shard's map grows once
		return testing.AllocsPerRun(200, func() { trace5(tr, false) })
	}
	floor, got := allocs(recordOnly{}, false), allocs(sdktrace.NeverSample(), true)
	if got > floor+1 {
		t.Errorf("a dropped five-span request: %.0f allocations under the capture, %.0f recording alone; want at most one more", got, floor)
	}
}
