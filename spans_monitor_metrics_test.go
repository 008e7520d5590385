package ctxtrail_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestMonitorMetricsThroughInstall: a Monitor given to Install publishes its counts on
// Install's MeterProvider without any further call.
func TestMonitorMetricsThroughInstall(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	mon := spans.NewMonitor()
	rd := sdkmetric.NewManualReader()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithSpanProcessor(mon), ctxtrail.WithMetricReader(rd))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	tr := p.Tracer("t")
	for range 4 {
		_, s := tr.Start(context.Background(), "load-cart")
		s.End()
	}
	_, open := tr.Start(context.Background(), "still-open")
	defer open.End()

	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range s.DataPoints {
				name, _ := dp.Attributes.Value("span.name")
				got[m.Name+"/"+name.AsString()] = dp.Value
			}
		}
	}
	for k, want := range map[string]int64{
		"otel.sdk.span.started/":          5,
		"otel.sdk.span.live/":             1,
		"ctxtrail.span.started/load-cart": 4,
		"ctxtrail.span.ended/load-cart":   4,
		"ctxtrail.span.active/still-open": 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], want, got)
		}
	}
}
