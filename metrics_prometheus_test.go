package ctxtrail

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// promAccept is the Accept header Prometheus 3 sends with its default scrape protocols.
const promAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
	"application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
	"text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// holdPort listens on a loopback port for the test's duration and returns the port.
func holdPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lis.Close() })
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	return port
}

// scrapeClient is a client of its own, so that its idle connections are closed by the test.
func scrapeClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// get fetches url with accept (none when empty) and returns the response's content type and body.
func get(t *testing.T, c *http.Client, url, accept string) (status int, contentType, body string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestPrometheusServesOnEnvHostPort: OTEL_METRICS_EXPORTER=prometheus serves /metrics on
// OTEL_EXPORTER_PROMETHEUS_HOST:_PORT, with ctxtrail's request metrics, until Shutdown.
func TestPrometheusServesOnEnvHostPort(t *testing.T) {
	clearMetricsEnv(t)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", port)
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", port)
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(), WithServiceName("shop"))
	if err != nil {
		t.Fatal(err)
	}
	shut := false
	t.Cleanup(func() {
		if !shut {
			_ = p.Shutdown(context.Background())
		}
	})
	c, _ := p.Meter("test").Int64Counter("orders.placed")
	c.Add(context.Background(), 5, metric.WithAttributes(attribute.String("kind", "book")))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") })
	app := httptest.NewServer(httpctx.NewHandler(mux, httpctx.WithProvider(p)))
	defer app.Close()
	client := scrapeClient(t)
	if code, _, _ := get(t, client, app.URL+"/users/7", ""); code != 200 {
		t.Fatalf("app answered %d", code)
	}

	fams := scrape(t, "http://"+addr+httpctx.MetricsPath)
	if f := fams["orders_placed_total"]; f == nil || f.Metric[0].GetCounter().GetValue() != 5 {
		t.Errorf("orders_placed_total missing or wrong: have %v", keys(fams))
	}
	d := fams["http_server_request_duration_seconds"]
	if d == nil || len(d.Metric) != 1 || label(d.Metric[0], "http_route") != "/users/{id}" || d.Metric[0].GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("ctxtrail's http_server_request_duration_seconds missing or wrong: %v (have %v)", d, keys(fams))
	}
	if code, _, _ := get(t, client, "http://"+addr+"/other", ""); code != http.StatusNotFound {
		t.Errorf("/other on the scrape port answered %d, want 404", code)
	}
	client.CloseIdleConnections()

	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	shut = true
	// The port is free again: Shutdown closed the listener (goleak in TestMain checks the rest).
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the scrape port is still held after Shutdown: %v", err)
	}
	_ = lis.Close()
}

// TestPrometheusAddrOptionWinsOverEnv: WithPrometheusAddr serves there, and the variables
// (pointing at a port in use) are not read.
func TestPrometheusAddrOptionWinsOverEnv(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", holdPort(t))
	addr := net.JoinHostPort("127.0.0.1", freePort(t))
	p := install(t, WithoutExporter(), WithMetricsExporterName(ExporterPrometheus), WithPrometheusAddr(addr))
	c, _ := p.Meter("test").Int64Counter("ticks")
	c.Add(context.Background(), 2)
	if f := scrape(t, "http://"+addr+httpctx.MetricsPath)["ticks_total"]; f == nil || f.Metric[0].GetCounter().GetValue() != 2 {
		t.Errorf("ticks_total at %s: %v", addr, f)
	}
}

// TestPrometheusWithoutServer opens no port, so a port in use in the environment is no error,
// and the handler still serves on the program's own mux.
func TestPrometheusWithoutServer(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", holdPort(t))
	p := install(t, WithoutExporter(), WithoutPrometheusServer())
	if p.metrics.server != nil {
		t.Error("WithoutPrometheusServer still started a server")
	}
	srv := httptest.NewServer(p.MetricsHandler())
	defer srv.Close()
	if code, _, _ := get(t, scrapeClient(t), srv.URL, ""); code != 200 {
		t.Errorf("MetricsHandler answered %d", code)
	}
}

// TestPrometheusPortInUse: a port in use is an Install error that names the setting and the fix,
// and leaves nothing running.
func TestPrometheusPortInUse(t *testing.T) {
	busy := holdPort(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want []string
	}{
		{"env", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1", "OTEL_EXPORTER_PROMETHEUS_PORT": busy}, nil,
			[]string{"OTEL_EXPORTER_PROMETHEUS_HOST and OTEL_EXPORTER_PROMETHEUS_PORT", "127.0.0.1:" + busy, "set OTEL_EXPORTER_PROMETHEUS_PORT to a free port", "ctxtrail.WithoutPrometheusServer()", "Provider.MetricsHandler"}},
		{"option", nil, []Option{WithMetricsExporterName(ExporterPrometheus), WithPrometheusAddr("127.0.0.1:" + busy)},
			[]string{`ctxtrail.WithPrometheusAddr("127.0.0.1:` + busy + `")`, "free port", "ctxtrail.WithoutPrometheusServer()"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearMetricsEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, err := Install(context.Background(), append([]Option{WithoutGlobal(), WithoutExporter()}, tc.opts...)...)
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatal("Install served on a port in use")
			}
			if !errors.Is(err, ErrConfig) || !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("error %v: want ErrConfig wrapping EADDRINUSE", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// exemplarLine matches an OpenMetrics bucket sample with an exemplar:
// name{labels} value # {exemplar labels} value [timestamp]
var exemplarLine = regexp.MustCompile(`^(\w+)\{(.*)\} (\S+) # \{(.*)\} (\S+)(?: (\S+))?$`)

var labelPair = regexp.MustCompile(`"?([\w.]+)"?="((?:[^"\\]|\\.)*)"`)

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, m := range labelPair.FindAllStringSubmatch(s, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// promExemplar is one exemplar of a histogram bucket in an OpenMetrics scrape.
type promExemplar struct {
	le, traceID, spanID string
	value               float64
}

// bucketExemplars returns the exemplars on the buckets of name whose labels include want.
func bucketExemplars(t *testing.T, body, name string, want map[string]string) []promExemplar {
	t.Helper()
	var out []promExemplar
	for _, line := range strings.Split(body, "\n") {
		m := exemplarLine.FindStringSubmatch(line)
		if m == nil || m[1] != name+"_bucket" {
			continue
		}
		labels := parseLabels(m[2])
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		ex := parseLabels(m[4])
		v, err := strconv.ParseFloat(m[5], 64)
		if err != nil {
			t.Fatalf("exemplar value in %q: %v", line, err)
		}
		out = append(out, promExemplar{le: labels["le"], traceID: ex["trace_id"], spanID: ex["span_id"], value: v})
	}
	return out
}

// serverSpans returns the server spans the recorder saw, by name.
func serverSpans(sr *tracetest.SpanRecorder) map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range sr.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			out[s.Name()] = append(out[s.Name()], s)
		}
	}
	return out
}

// TestPrometheusExemplarsNameTheRequestTrace: scraped as Prometheus scrapes (OpenMetrics first),
// a bucket of http_server_request_duration_seconds carries an exemplar naming the trace and span
// of the sampled request it counted, at MetricsHandler and at the endpoint ctxtrail serves.
func TestPrometheusExemplarsNameTheRequestTrace(t *testing.T) {
	clearMetricsEnv(t)
	sr := tracetest.NewSpanRecorder()
	addr := net.JoinHostPort("127.0.0.1", freePort(t))
	p := install(t, WithoutExporter(), WithSpanProcessor(sr),
		WithMetricsExporterName(ExporterPrometheus), WithPrometheusAddr(addr))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "order") })
	mux.Handle("GET "+httpctx.MetricsPath, p.MetricsHandler())
	app := httptest.NewServer(httpctx.NewHandler(mux, httpctx.WithProvider(p)))
	defer app.Close()
	client := scrapeClient(t)
	if code, _, _ := get(t, client, app.URL+"/orders/7", ""); code != 200 {
		t.Fatalf("app answered %d", code)
	}
	spans := serverSpans(sr)["GET /orders/{id}"]
	if len(spans) != 1 || !spans[0].SpanContext().IsSampled() {
		t.Fatalf("want one sampled server span for the request, have %v", spans)
	}
	want := spans[0].SpanContext()

	for _, url := range []string{app.URL + httpctx.MetricsPath, "http://" + addr + httpctx.MetricsPath} {
		code, ctype, body := get(t, client, url, promAccept)
		if code != 200 || !strings.HasPrefix(ctype, "application/openmetrics-text") {
			t.Fatalf("%s: %d %q, want 200 in the OpenMetrics format", url, code, ctype)
		}
		exs := bucketExemplars(t, body, "http_server_request_duration_seconds", map[string]string{"http_route": "/orders/{id}"})
		if len(exs) != 1 {
			t.Fatalf("%s: %d bucket exemplars for the route, want 1:\n%s", url, len(exs), body)
		}
		ex := exs[0]
		if ex.traceID != want.TraceID().String() || ex.spanID != want.SpanID().String() {
			t.Errorf("%s: exemplar trace_id=%s span_id=%s, want the request's %s %s", url, ex.traceID, ex.spanID, want.TraceID(), want.SpanID())
		}
		if le, err := strconv.ParseFloat(ex.le, 64); err != nil || ex.value > le || ex.value <= 0 {
			t.Errorf("%s: exemplar value %v outside its bucket le=%s", url, ex.value, ex.le)
		}
		// A scraper that asks for no format gets the text format, which has no exemplars.
		if _, ctype, _ := get(t, client, url, ""); !strings.HasPrefix(ctype, "text/plain") {
			t.Errorf("%s without Accept: content type %q, want text/plain", url, ctype)
		}
	}
}

// TestMetricsScrapeIsNotTraced: scrapes through a mux wrapped by NewHandler make no span, no
// request metric and no response headers, while the same handler traces the program's routes,
// /metrics/... included (only the exact path is left out).
func TestMetricsScrapeIsNotTraced(t *testing.T) {
	clearMetricsEnv(t)
	sr := tracetest.NewSpanRecorder()
	rd := sdkmetric.NewManualReader()
	p := install(t, WithoutExporter(), WithSpanProcessor(sr), WithMetricReader(rd),
		WithMetricsExporterName(ExporterPrometheus), WithoutPrometheusServer())
	mux := http.NewServeMux()
	mux.Handle("GET "+httpctx.MetricsPath, p.MetricsHandler())
	mux.HandleFunc("GET /metrics/daily", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "42") })
	app := httptest.NewServer(httpctx.NewHandler(mux, httpctx.WithProvider(p)))
	defer app.Close()
	client := scrapeClient(t)

	for range 3 {
		req, _ := http.NewRequest("GET", app.URL+httpctx.MetricsPath, nil)
		req.Header.Set("Accept", promAccept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("scrape: %s", resp.Status)
		}
		if h := resp.Header.Get("X-Request-Id") + resp.Header.Get("X-Trace-Id"); h != "" {
			t.Errorf("a scrape got request headers: %v", resp.Header)
		}
	}
	if n := len(sr.Ended()) + len(sr.Started()); n != 0 {
		t.Errorf("scrapes made %d spans, want 0: %v", n, serverSpans(sr))
	}
	// routes returns the requests recorded by route, and how many active_requests series exist.
	routes := func() (map[string]uint64, int) {
		var rm metricdata.ResourceMetrics
		if err := rd.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out, active := map[string]uint64{}, 0
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch m.Name {
				case "http.server.request.duration":
					for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
						r, _ := dp.Attributes.Value("http.route")
						out[r.AsString()] += dp.Count
					}
				case "http.server.active_requests":
					active += len(m.Data.(metricdata.Sum[int64]).DataPoints)
				}
			}
		}
		return out, active
	}
	if got, active := routes(); len(got) != 0 || active != 0 {
		t.Errorf("scrapes were counted as requests: %v, %d active_requests series", got, active)
	}

	// The same handler traces the program's own routes, a path below /metrics included.
	if code, _, _ := get(t, client, app.URL+"/metrics/daily", ""); code != 200 {
		t.Fatalf("/metrics/daily answered %d", code)
	}
	if got := serverSpans(sr); len(got["GET /metrics/daily"]) != 1 || len(sr.Ended()) != 1 {
		t.Errorf("spans %v, want one for GET /metrics/daily", got)
	}
	if got, _ := routes(); got["/metrics/daily"] != 1 || got["/metrics"] != 0 {
		t.Errorf("requests by route %v, want /metrics/daily once and /metrics never", got)
	}
}

// TestPrometheusSDKDisabled: with OTEL_SDK_DISABLED the address is still checked but no port is
// opened, so a port in use is no error.
func TestPrometheusSDKDisabled(t *testing.T) {
	clearMetricsEnv(t)
	t.Setenv("OTEL_SDK_DISABLED", "true")
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", holdPort(t))
	p := install(t, WithoutExporter())
	if p.metrics.server != nil {
		t.Error("a disabled SDK opened the scrape port")
	}
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "ninety")
	if p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter()); !errors.Is(err, ErrConfig) {
		if p != nil {
			_ = p.Shutdown(context.Background())
		}
		t.Errorf("a bad port with the SDK disabled: %v, want ErrConfig", err)
	}
}
