package trailzap

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestRegisterMetricsCountsDroppedReports: trail.RegisterMetrics publishes the reports a LogSink
// dropped, summed over the sinks given; a nil sink counts none.
func TestRegisterMetricsCountsDroppedReports(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	a, b := NewLogSink(nil), NewLogSink(nil)
	for _, s := range []*LogSink{a, b} {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var none *LogSink
	reg, err := trail.RegisterMetrics(mp, a, b, none, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	a.Send(context.Background(), &trail.Report{}) // shut: dropped
	b.Send(context.Background(), &trail.Report{})
	b.Send(context.Background(), &trail.Report{})

	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "ctxtrail.trail.reports.dropped" {
				if v := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 3 {
					t.Errorf("ctxtrail.trail.reports.dropped = %d, want 3", v)
				}
				return
			}
		}
	}
	t.Error("ctxtrail.trail.reports.dropped not collected")
}
