package trail

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestRegisterMetricsCountsDroppedBreadcrumbs(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	reg, err := RegisterMetrics(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	before := BreadcrumbsDropped()
	ctx := Start(context.Background(), WithMaxBreadcrumbs(2))
	for range 5 {
		AddBreadcrumb(ctx, "step")
	}
	if got := BreadcrumbsDropped() - before; got != 3 {
		t.Fatalf("BreadcrumbsDropped rose by %d, want 3", got)
	}
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "ctxtrail.trail.breadcrumbs.dropped" {
				found = true
				if v := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; uint64(v) != BreadcrumbsDropped() {
					t.Errorf("metric %d, counter %d", v, BreadcrumbsDropped())
				}
			}
		}
	}
	if !found {
		t.Error("ctxtrail.trail.breadcrumbs.dropped not collected")
	}
}
