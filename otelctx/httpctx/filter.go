package httpctx

import (
	"net/http"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

// MetricsPath is where Prometheus scrapes by default, where the prometheus metrics exporter
// serves (see WithPrometheusAddr) and where a program mounts Provider.MetricsHandler. NewHandler
// never traces a request for exactly this path, so a scrape every few seconds adds neither a
// span nor a request to the metrics it reads. Mounted elsewhere, exclude it with WithFilter.
const MetricsPath = "/metrics"

// WithFilter adds a filter: fn reports whether a request is traced. A request any filter refuses
// is passed on untouched: NewHandler calls the next handler with the request as it came (no
// span, no request ID, no request store, no response headers) and a Transport sends it through
// its base without a span or trace headers. Filters run in the order given, on every request,
// before anything else; keep them cheap. Use it for health checks and readiness probes:
//
//	httpctx.NewHandler(mux, httpctx.WithFilter(func(r *http.Request) bool {
//		return r.URL.Path != "/healthz"
//	}))
//
// Besides the filters given, NewHandler leaves out requests for MonitorPath and MetricsPath.
func WithFilter(fn func(r *http.Request) bool) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig {
		if fn != nil {
			c.filters = append(c.filters[:len(c.filters):len(c.filters)], fn)
		}
		return c
	})
}

// traced reports whether every filter lets r be traced.
func (c *httpConfig) traced(r *http.Request) bool {
	for _, f := range c.filters {
		if !f(r) {
			return false
		}
	}
	return true
}

// notMonitorPage is NewHandler's first filter: false for ctxtrail's own pages, MonitorPath and
// the paths below it, and MetricsPath.
func notMonitorPage(r *http.Request) bool {
	p := r.URL.Path
	if p == MetricsPath {
		return false
	}
	return !strings.HasPrefix(p, otelctx.MonitorPath) || (len(p) > len(otelctx.MonitorPath) && p[len(otelctx.MonitorPath)] != '/')
}
