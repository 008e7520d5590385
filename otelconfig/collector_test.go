package otelconfig_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is a loopback OTLP/HTTP receiver of the three signals, decoding every export.
type collector struct {
	URL     string
	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics []string          // metric names
	logs    []string          // log bodies
	service map[string]string // path -> the last resource's service.name
}

func newCollector(t *testing.T) *collector {
	c := &collector{service: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		var res []*resourcepb.Resource
		switch r.URL.Path {
		case "/v1/traces":
			var req coltrace.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rs := range req.ResourceSpans {
				res = append(res, rs.Resource)
				for _, ss := range rs.ScopeSpans {
					c.spans = append(c.spans, ss.Spans...)
				}
			}
		case "/v1/metrics":
			var req colmetrics.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rm := range req.ResourceMetrics {
				res = append(res, rm.Resource)
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						c.metrics = append(c.metrics, m.Name)
					}
				}
			}
		case "/v1/logs":
			var req collogs.ExportLogsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rl := range req.ResourceLogs {
				res = append(res, rl.Resource)
				for _, sl := range rl.ScopeLogs {
					for _, l := range sl.LogRecords {
						c.logs = append(c.logs, l.Body.GetStringValue())
					}
				}
			}
		default:
			http.NotFound(w, r)
			return
		}
		for _, r0 := range res {
			if v := attr(r0.GetAttributes(), "service.name"); v != "" {
				c.service[r.URL.Path] = v
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

func (c *collector) snapshot() (spans []*tracepb.Span, metrics, logs []string, service map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	service = map[string]string{}
	for k, v := range c.service {
		service[k] = v
	}
	return append(spans, c.spans...), append(metrics, c.metrics...), append(logs, c.logs...), service
}
