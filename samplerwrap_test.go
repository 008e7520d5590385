package ctxtrail

import (
	"context"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// countSampler counts the decisions it is asked for and passes them to the sampler it wraps.
type countSampler struct {
	sdktrace.Sampler
	n *atomic.Int64
}

func (c countSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	c.n.Add(1)
	return c.Sampler.ShouldSample(p)
}

// WithSamplerWrapper wraps the sampler the environment chooses (not the default one), the
// wrappers in the order given, the last outermost; a nil result keeps the sampler; under
// OTEL_SDK_DISABLED nothing is wrapped.
func TestWithSamplerWrapper(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	var inner, outer atomic.Int64
	var seen []string
	wrap := func(n *atomic.Int64) func(sdktrace.Sampler) sdktrace.Sampler {
		return func(s sdktrace.Sampler) sdktrace.Sampler {
			seen = append(seen, s.Description())
			return countSampler{s, n}
		}
	}
	p := install(t, WithoutExporter(), WithSamplerWrapper(wrap(&inner)), WithSamplerWrapper(nil),
		WithSamplerWrapper(func(sdktrace.Sampler) sdktrace.Sampler { return nil }), WithSamplerWrapper(wrap(&outer)))
	_, s := p.Tracer("t").Start(context.Background(), "op")
	s.End()
	if s.SpanContext().IsSampled() {
		t.Error("OTEL_TRACES_SAMPLER=always_off: the wrapped sampler sampled")
	}
	if inner.Load() != 1 || outer.Load() != 1 {
		t.Errorf("wrappers asked %d and %d times, want 1 each", inner.Load(), outer.Load())
	}
	if len(seen) != 2 || seen[0] != "AlwaysOffSampler" || seen[1] != "AlwaysOffSampler" {
		t.Errorf("wrappers were given %q, want the environment's sampler, then the first wrapper's", seen)
	}

	t.Setenv("OTEL_SDK_DISABLED", "true")
	called := false
	p2 := install(t, WithoutExporter(), WithSamplerWrapper(func(s sdktrace.Sampler) sdktrace.Sampler { called = true; return s }))
	_, s = p2.Tracer("t").Start(context.Background(), "op")
	s.End()
	if called {
		t.Error("OTEL_SDK_DISABLED=true: the wrapper was called")
	}
}
