package ctxtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

var metricsEnv = []string{
	"OTEL_METRICS_EXPORTER", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_TIMEOUT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	"OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_PORT", "OTEL_METRICS_EXEMPLAR_FILTER",
}

func clearMetricsEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	for _, k := range metricsEnv {
		t.Setenv(k, "")
	}
}

// metricsReceiver is an OTLP/HTTP metrics collector on loopback: it decodes every export.
type metricsReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*collectormetrics.ExportMetricsServiceRequest
	got  chan struct{} // signalled (without blocking) on every export
}

func newMetricsReceiver(t *testing.T) *metricsReceiver {
	r := &metricsReceiver{got: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil || req.URL.Path != "/v1/metrics" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var msg collectormetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(raw, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, &msg)
		r.mu.Unlock()
		select {
		case r.got <- struct{}{}:
		default:
		}
		out, _ := proto.Marshal(&collectormetrics.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// metric returns the last exported data point set of the metric called name.
func (r *metricsReceiver) metric(name string) *metricspb.Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last *metricspb.Metric
	for _, req := range r.reqs {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if m.Name == name {
						last = m
					}
				}
			}
		}
	}
	return last
}

func (r *metricsReceiver) service() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, req := range r.reqs {
		for _, rm := range req.ResourceMetrics {
			for _, kv := range rm.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					return kv.GetValue().GetStringValue()
				}
			}
		}
	}
	return ""
}

func sumOf(t *testing.T, m *metricspb.Metric) int64 {
	t.Helper()
	if m == nil {
		t.Fatal("metric not exported")
	}
	var n int64
	for _, dp := range m.GetSum().GetDataPoints() {
		n += dp.GetAsInt()
	}
	return n
}

func TestMetricsOTLPOnShutdown(t *testing.T) {
	clearMetricsEnv(t)
	r := newMetricsReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.srv.URL) // /v1/metrics is added
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(), WithServiceName("orders"),
		WithMetricsExporterName(ExporterOTLP))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.MetricExporters(); len(got) != 1 || got[0] != ExporterOTLP {
		t.Errorf("MetricExporters = %v", got)
	}
	c, _ := p.Meter("test").Int64Counter("orders.placed")
	for range 7 {
		c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("kind", "book")))
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(t, r.metric("orders.placed")); got != 7 {
		t.Errorf("orders.placed = %d, want 7", got)
	}
	if got := r.service(); got != "orders" {
		t.Errorf("service.name = %q", got)
	}
}

func TestMetricsOTLPFromEnvEveryInterval(t *testing.T) {
	clearMetricsEnv(t)
	r := newMetricsReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", r.srv.URL+"/v1/metrics") // used as is; means otlp
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "50")
	p := install(t, WithoutExporter())
	c, _ := p.Meter("test").Int64Counter("ticks")
	c.Add(context.Background(), 3)
	select {
	case <-r.got: // a periodic export, before any Shutdown or ForceFlush
	case <-time.After(10 * time.Second):
		t.Fatal("no periodic export within 10s at a 50ms interval")
	}
	if got := sumOf(t, r.metric("ticks")); got != 3 {
		t.Errorf("ticks = %d, want 3", got)
	}
}

func TestMetricsDefaultIsNone(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // traces go there, metrics do not
	p := install(t, WithoutExporter())
	if got := p.MetricExporters(); len(got) != 0 {
		t.Errorf("MetricExporters = %v, want none", got)
	}
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "OTEL_METRICS_EXPORTER=prometheus") {
		t.Errorf("MetricsHandler without prometheus: %d %q", rec.Code, rec.Body.String())
	}
}

func TestMetricsSetsGlobal(t *testing.T) {
	clearMetricsEnv(t)
	prev := otel.GetMeterProvider()
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	p, err := Install(context.Background(), WithoutExporter(), WithMetricReader(sdkmetric.NewManualReader()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	if otel.GetMeterProvider() != p.MeterProvider() {
		t.Error("Install did not set the global meter provider")
	}
}

// scrape fetches url and parses the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

func TestMetricsPrometheusScrape(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	p := install(t, WithoutExporter(), WithServiceName("shop"), WithoutPrometheusServer())
	c, _ := p.Meter("test").Int64Counter("orders.placed")
	c.Add(context.Background(), 5, metric.WithAttributes(attribute.String("kind", "book")))
	mux := http.NewServeMux()
	mux.Handle("GET "+httpctx.MetricsPath, p.MetricsHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	fams := scrape(t, srv.URL+"/metrics")
	f := fams["orders_placed_total"]
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("orders_placed_total missing: have %v", keys(fams))
	}
	if v := f.Metric[0].GetCounter().GetValue(); v != 5 {
		t.Errorf("orders_placed_total = %v, want 5", v)
	}
	if label(f.Metric[0], "kind") != "book" {
		t.Errorf("labels %v", f.Metric[0].Label)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestMetricsConsole(t *testing.T) {
	clearMetricsEnv(t)
	var buf bytes.Buffer
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(), WithWriter(&buf),
		WithMetricsExporterName("console"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.Meter("test").Int64Counter("console.count")
	c.Add(context.Background(), 1)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"Name":"console.count"`) {
		t.Errorf("console output lacks the metric: %.300s", buf.String())
	}
}

func TestMetricsManualReader(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_METRICS_EXPORTER", "bogus") // ignored: a reader option wins over the variable
	rd := sdkmetric.NewManualReader()
	p := install(t, WithoutExporter(), WithMetricReader(rd))
	c, _ := p.Meter("test").Int64Counter("manual")
	c.Add(context.Background(), 2)
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found = found || m.Name == "manual"
		}
	}
	if !found {
		t.Errorf("the manual reader did not collect the counter: %+v", rm.ScopeMetrics)
	}
}

func TestMetricsBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want string
	}{
		{"exporter", map[string]string{"OTEL_METRICS_EXPORTER": "otlp,statsd"}, nil, `OTEL_METRICS_EXPORTER names metrics exporter "statsd"`},
		{"exporter option", nil, []Option{WithMetricsExporterName("graphite")}, `ctxtrail.WithMetricsExporterName names metrics exporter "graphite"`},
		{"interval word", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "1m"}, nil, `OTEL_METRIC_EXPORT_INTERVAL="1m": want a positive whole number of milliseconds`},
		{"interval negative", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "-5"}, nil, `OTEL_METRIC_EXPORT_INTERVAL="-5"`},
		{"interval zero", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "0"}, nil, `OTEL_METRIC_EXPORT_INTERVAL="0"`},
		{"interval option", nil, []Option{WithMetricExportInterval(-time.Second)}, "ctxtrail.WithMetricExportInterval(-1s)"},
		{"timeout", map[string]string{"OTEL_METRIC_EXPORT_TIMEOUT": "soon"}, nil, `OTEL_METRIC_EXPORT_TIMEOUT="soon"`},
		{"endpoint", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "localhost:4318"}, nil, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="localhost:4318": want an http or https URL`},
		{"protocol", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, nil, `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="udp": want http/protobuf or grpc`},
		{"prometheus port word", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_PORT": "http"}, nil, `OTEL_EXPORTER_PROMETHEUS_PORT="http": want a port number from 1 to 65535`},
		{"prometheus port zero", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_PORT": "0"}, nil, `OTEL_EXPORTER_PROMETHEUS_PORT="0"`},
		{"prometheus port too big", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_PORT": "70000"}, nil, `OTEL_EXPORTER_PROMETHEUS_PORT="70000"`},
		{"prometheus addr option", nil, []Option{WithMetricsExporterName(ExporterPrometheus), WithPrometheusAddr("9464")}, `ctxtrail.WithPrometheusAddr("9464"): want host:port`},
		{"prometheus addr port", nil, []Option{WithMetricsExporterName(ExporterPrometheus), WithPrometheusAddr("127.0.0.1:x")}, `ctxtrail.WithPrometheusAddr("127.0.0.1:x"): want a port number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearMetricsEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, err := Install(context.Background(), append([]Option{WithoutGlobal(), WithoutExporter()}, tc.opts...)...)
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatal("Install accepted a bad setting")
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want ErrConfig containing %q", err, tc.want)
			}
		})
	}
}

func TestMetricsShutdownHonoursDeadlineWhenCollectorHangs(t *testing.T) {
	clearMetricsEnv(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(),
		WithOTLP(srv.URL), WithMetricsExporterName(ExporterOTLP)) // WithOTLP's endpoint serves both signals
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.Meter("test").Int64Counter("stuck")
	c.Add(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Shutdown(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", took)
	}
	if err == nil {
		t.Error("Shutdown returned nil although the last metrics export never finished")
	}
}

// A Provider without a metric reader (metrics off, the default) hands out no-op meters, and
// Install makes the global meter provider a no-op one, so instrumentation given either skips
// the work (otelctx's TestHTTPMetricsSkippedWithNoopMeters); with a reader its meters record.
func TestMetersWithoutReaderAreNoop(t *testing.T) {
	clearMetricsEnv(t)
	off, err := Install(context.Background(), WithoutExporter(), WithoutGlobal())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = off.Shutdown(context.Background()) }()
	rd := sdkmetric.NewManualReader()
	on, err := Install(context.Background(), WithoutExporter(), WithoutGlobal(), WithMetricReader(rd))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = on.Shutdown(context.Background()) }()
	if _, ok := off.Meter("x").(noop.Meter); !ok {
		t.Errorf("a reader-less provider's meter is %T, want noop.Meter", off.Meter("x"))
	}
	if _, ok := on.Meter("x").(noop.Meter); ok {
		t.Error("a provider with a reader handed out a no-op meter")
	}

	global, err := Install(context.Background(), WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = global.Shutdown(context.Background()) }()
	if _, ok := otel.GetMeterProvider().(noop.MeterProvider); !ok {
		t.Errorf("global meter provider after a reader-less Install is %T, want noop", otel.GetMeterProvider())
	}
}

// TestMetricsHangingExporterNeverBlocksRequests: with the metrics exporter stuck, requests keep
// being served and recorded, and Shutdown still returns by its deadline.
func TestMetricsHangingExporterNeverBlocksRequests(t *testing.T) {
	clearMetricsEnv(t)
	release := make(chan struct{})
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer col.Close()
	defer close(release)
	rd := sdkmetric.NewManualReader()
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", col.URL+"/v1/metrics")
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(),
		WithMetricsExporterName(ExporterOTLP), WithMetricExportInterval(5*time.Millisecond), WithMetricReader(rd))
	if err != nil {
		t.Fatal(err)
	}
	h := httpctx.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httpctx.WithProvider(p))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("requests blocked behind a hanging metrics exporter")
	}
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "http.server.request.duration" {
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					n += dp.Count
				}
			}
		}
	}
	if n != 2000 {
		t.Errorf("recorded %d requests, want 2000", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Shutdown(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Shutdown took %v with a 200ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want an error wrapping context.DeadlineExceeded: the last metrics export never finished", err)
	}
}
