package httpctx

import (
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Provider is what WithProvider reads from the provider that ctxtrail.Install returns (its
// *ctxtrail.Provider is one): the tracers and meters instrumentation should use, its
// propagator, and its limiter for warnings about bad incoming headers. It is an interface so
// that the request context and the HTTP and gRPC instrumentation never compile Install's
// exporters.
type Provider interface {
	Tracer(name string, opts ...trace.TracerOption) trace.Tracer
	Meter(name string, opts ...metric.MeterOption) metric.Meter
	Propagator() propagation.TextMapPropagator
	WarnLimiter() *propagators.WarnLimiter
}
