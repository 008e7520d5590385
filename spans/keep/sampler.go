package keep

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Sampler wraps s so that every span s would drop is recorded instead (RecordOnly), where a
// Processor can buffer it; what s samples stays sampled. The span context keeps s's decision:
// a recorded span is not sampled, so the traceparent sent downstream says not-sampled and each
// callee decides for itself. A nil s is sdktrace.ParentBased(sdktrace.AlwaysSample()), the
// SDK's default.
//
// Use it only with a Processor in front of the exporting processors: without one, recorded
// spans cost memory and CPU and go nowhere.
func Sampler(s sdktrace.Sampler) sdktrace.Sampler {
	if s == nil {
		s = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	if _, ok := s.(recordDropped); ok {
		return s
	}
	return recordDropped{s}
}

type recordDropped struct{ inner sdktrace.Sampler }

func (r recordDropped) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := r.inner.ShouldSample(p)
	if res.Decision == sdktrace.Drop {
		res.Decision = sdktrace.RecordOnly
	}
	return res
}

func (r recordDropped) Description() string {
	return "KeepErrorsAndSlow{" + r.inner.Description() + "}"
}
