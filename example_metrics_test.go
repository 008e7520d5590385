package ctxtrail_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// Prometheus: Install with the prometheus metrics exporter and mount the scrape endpoint on the
// program's own server, instead of the port the exporter would open (localhost:9464, or
// OTEL_EXPORTER_PROMETHEUS_HOST and _PORT). NewHandler leaves the scrapes untraced.
func ExampleProvider_MetricsHandler() {
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithMetricsExporterName(ctxtrail.ExporterPrometheus), ctxtrail.WithoutPrometheusServer())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET "+httpctx.MetricsPath, p.MetricsHandler())
	mux.Handle("GET /users/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h := httpctx.NewHandler(mux, httpctx.WithProvider(p))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count") {
			fmt.Println(strings.Contains(line, `http_route="/users/{id}"`), strings.HasSuffix(line, " 1"))
		}
	}
	fmt.Println(p.MetricExporters())
	// Output:
	// true true
	// [prometheus]
}
