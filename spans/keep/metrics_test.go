package keep_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	tp, _, _ := newCapture(t, unsampled, keep.WithMeterProvider(mp), keep.WithMaxSpansPerTrace(1))
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "failed")
	for range 3 {
		_, c := tr.Start(ctx, "child")
		c.End()
	}
	root.SetStatus(codes.Error, "x")
	root.End()
	_, ok := tr.Start(context.Background(), "fine")
	ok.End()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, isSum := m.Data.(metricdata.Sum[int64]); isSum {
				sums[m.Name] = map[attribute.Distinct]int64{}
				for _, dp := range s.DataPoints {
					sums[m.Name][dp.Attributes.Equivalent()] = dp.Value
				}
			}
		}
	}
	check := func(name string, want int64, kvs ...attribute.KeyValue) {
		t.Helper()
		set := attribute.NewSet(kvs...)
		if got := sums[name][set.Equivalent()]; got != want {
			t.Errorf("%s%v = %d, want %d", name, kvs, got, want)
		}
	}
	check("ctxtrail.keep.traces", 1, attribute.String("ctxtrail.keep.outcome", "kept"), attribute.String(keep.AttrReason, keep.ReasonError))
	check("ctxtrail.keep.traces", 1, attribute.String("ctxtrail.keep.outcome", "dropped"))
	check("ctxtrail.keep.spans.exported", 2)
	check("ctxtrail.keep.spans.dropped", 2, attribute.String("ctxtrail.keep.limit", keep.LimitSpansPerTrace))
	check("ctxtrail.keep.buffer.usage", 0)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm = metricdata.ResourceMetrics{}
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == "github.com/ctxtrail/ctxtrail/spans/keep" && len(sm.Metrics) > 0 {
			t.Errorf("metrics still published after Shutdown: %v", sm.Metrics)
		}
	}
}
