package ctxtrail

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// sumByAttr returns an int64 sum's points keyed by their attributes.
func sumByAttr(t *testing.T, ms map[string]metricdata.Metrics, name string) map[string]int64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("no %s; have %v", name, keys(ms))
	}
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T", name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range s.DataPoints {
		out[attrString(dp.Attributes)] = dp.Value
	}
	return out
}

func collectAll(t *testing.T, rd *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func TestHealthMetricsPipelineAndBadHeaders(t *testing.T) {
	clearMetricsEnv(t)
	rd := sdkmetric.NewManualReader()
	exp := tracetest.NewInMemoryExporter()
	p := install(t, WithExporter(exp), WithMetricReader(rd))
	for range 3 {
		_, s := p.Tracer("t").Start(context.Background(), "work")
		s.End()
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := httpctx.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httpctx.WithProvider(p))
	for _, hdr := range [][2]string{
		{"Traceparent", "00-zz-bad"}, {"Traceparent", "garbage"}, {"X-Trace-Id", "not-hex"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(hdr[0], hdr[1])
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	ms := collectAll(t, rd)
	comp := "otel.component.type=batching_span_processor"
	// 3 spans of our own and 3 server spans.
	if got := sumByAttr(t, ms, "otel.sdk.processor.span.processed"); got[comp] != 6 || got["error.type=queue_full,"+comp] != 0 {
		t.Errorf("processed %v, want 6 passed, 0 dropped", got)
	}
	if got := sumByAttr(t, ms, "otel.sdk.processor.span.queue.capacity"); got[comp] != 2048 {
		t.Errorf("queue capacity %v, want 2048", got)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms = collectAll(t, rd)
	if got := sumByAttr(t, ms, "otel.sdk.exporter.span.exported"); got[comp] != 6 || got["error.type=_OTHER,"+comp] != 0 {
		t.Errorf("exported %v, want 6 accepted", got)
	}
	if got := sumByAttr(t, ms, "otel.sdk.processor.span.queue.size"); got[comp] != 0 {
		t.Errorf("queue size %v after a flush, want 0", got)
	}
	bad := sumByAttr(t, ms, "ctxtrail.http.bad_headers")
	if bad["ctxtrail.header=traceparent"] != 2 || bad["ctxtrail.header=x-trace-id"] != 1 || bad["ctxtrail.header=baggage"] != 0 {
		t.Errorf("bad headers %v, want traceparent 2, x-trace-id 1", bad)
	}
	if got := p.WarnLimiter().ByHeader(); got["traceparent"] != 2 || got["x-trace-id"] != 1 || len(got) != 2 {
		t.Errorf("ByHeader %v", got)
	}
}
