package keep_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

type recordOnly struct{}

func (recordOnly) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
}
func (recordOnly) Description() string { return "RecordOnly" }

var benchAttrs = []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("url.path", "/cart"), attribute.Int("n", 3)}

// trace5 is one request's five spans: a server span, two steps, a client span, one failed when
// fail.
func trace5(tr trace.Tracer, fail bool) {
	ctx, root := tr.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(benchAttrs...))
	for _, name := range []string{"load-cart", "price-cart"} {
		_, s := tr.Start(ctx, name)
		s.End()
	}
	_, c := tr.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(benchAttrs...))
	if fail {
		c.SetStatus(codes.Error, "502")
	}
	c.End()
	root.End()
}

// BenchmarkTrace is one five-span request through a batch processor and a discarding exporter:
// unsampled (the head drops it: the cheapest), recorded and not sampled with nothing to keep it
// (the floor of recording), under the capture and dropped, under the capture and kept (a
// failure), and sampled at the head (exported).
func BenchmarkTrace(b *testing.B) {
	cases := []struct {
		name    string
		sampler sdktrace.Sampler
		capture bool
		fail    bool
	}{
		{"unsampled", sdktrace.NeverSample(), false, false},
		{"recordonly", recordOnly{}, false, false},
		{"capture-dropped", sdktrace.NeverSample(), true, false},
		{"capture-kept", sdktrace.NeverSample(), true, true},
		{"sampled", sdktrace.AlwaysSample(), false, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bsp := sdktrace.NewBatchSpanProcessor(discard{}, sdktrace.WithMaxQueueSize(1<<16))
			var sp sdktrace.SpanProcessor = bsp
			sampler := c.sampler
			if c.capture {
				sp, sampler = keep.NewProcessor([]sdktrace.SpanProcessor{bsp}), keep.Sampler(sampler)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(sp))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			tr := tp.Tracer("bench")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					trace5(tr, c.fail)
				}
			})
		})
	}
}
