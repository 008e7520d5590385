package keep_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/keep"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newCapture returns a tracer provider whose head sampler is head, wrapped in keep.Sampler,
// with a keep.Processor in front of an in-memory exporter (through the SDK's simple
// processor, which exports only sampled spans, as the batch processor does).
func newCapture(t testing.TB, head sdktrace.Sampler, opts ...keep.Option) (*sdktrace.TracerProvider, *keep.Processor, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	kp := keep.NewProcessor([]sdktrace.SpanProcessor{sdktrace.NewSimpleSpanProcessor(exp)}, opts...)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(keep.Sampler(head)), sdktrace.WithSpanProcessor(kp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, kp, exp
}

func byName(spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	out := make(map[string]tracetest.SpanStub, len(spans))
	for _, s := range spans {
		out[s.Name] = s
	}
	return out
}

func attr(s tracetest.SpanStub, key string) (string, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}
