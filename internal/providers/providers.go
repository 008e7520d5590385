// Package providers turns the Provider that ctxtrail.Install returns, seen through the small
// interface the instrumentation packages take (httpctx.Provider, grpcctx.WithProvider), back into the OpenTelemetry
// API's tracer and meter providers, so that HTTP and gRPC instrumentation can use it without
// compiling Install's exporters.
package providers

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/trace"
	tembedded "go.opentelemetry.io/otel/trace/embedded"
)

// TracerSource is the part of a Provider that makes tracers.
type TracerSource interface {
	Tracer(name string, opts ...trace.TracerOption) trace.Tracer
}

// MeterSource is the part of a Provider that makes meters.
type MeterSource interface {
	Meter(name string, opts ...metric.MeterOption) metric.Meter
}

// Tracers returns a trace.TracerProvider whose tracers are s's. Two results of the same s
// compare equal, so caches keyed by the provider keep working.
func Tracers(s TracerSource) trace.TracerProvider { return tracers{s: s} }

// Meters returns a metric.MeterProvider whose meters are s's; equal for the same s.
func Meters(s MeterSource) metric.MeterProvider { return meters{s: s} }

type tracers struct {
	tembedded.TracerProvider
	s TracerSource
}

func (t tracers) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return t.s.Tracer(name, opts...)
}

type meters struct {
	embedded.MeterProvider
	s MeterSource
}

func (m meters) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return m.s.Meter(name, opts...)
}
