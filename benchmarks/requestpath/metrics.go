package requestpath

import (
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// sdkMeterProvider is the meter provider of OTelStackMetrics: the real SDK with a manual reader,
// so every measurement is aggregated as it would be for an exporter, and nothing is exported
// during the run (ctxtrail's CtxtrailMetrics gets the same: ctxtrail.WithMetricReader with a
// manual reader).
func (s *Service) sdkMeterProvider(res *resource.Resource) metric.MeterProvider {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewManualReader()))
	s.flush = append(s.flush, mp.ForceFlush)
	s.shutdown = append(s.shutdown, mp.Shutdown)
	return mp
}
