//go:build unix

package spans

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// requestSpans returns the spans of one request shaped like benchmarks/requestpath's (a server
// span under a remote caller of trace tid, and three children), started and ended, for feeding
// a processor directly.
func requestSpans(b *testing.B, tid trace.TraceID) (started []sdktrace.ReadWriteSpan, ended []sdktrace.ReadOnlySpan) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("bench")
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	ctx, srv := tracer.Start(remote, "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
	for _, name := range []string{"load-cart", "price-cart", "GET"} {
		_, c := tracer.Start(ctx, name)
		started = append(started, c.(sdktrace.ReadWriteSpan))
		c.End()
	}
	started = append(started, srv.(sdktrace.ReadWriteSpan))
	srv.End()
	return started, rec.Ended()
}

// monitorSide is one side of BenchmarkMonitorRequestPaired: n requests' spans started and
// ended on m, in the order a request makes them.
func monitorSide(b *testing.B, m *Monitor) func(int) {
	started, ended := requestSpans(b, trace.TraceID{1})
	ctx := context.Background()
	return func(n int) {
		for range n {
			for i := range started {
				m.OnStart(ctx, started[i])
				m.OnEnd(ended[i])
			}
		}
	}
}

// BenchmarkMonitorRequestPaired: what the latency table adds to the Monitor's own work per
// request (four spans, one of them the request's root, fed to OnStart and OnEnd), the monitor
// without it as the base, in alternating blocks (internal/pairbench). config=monitor-off pairs
// the base with itself: the method's bias. The request path's whole cost is
// benchmarks/requestpath's TestRequestPathMonitor.
func BenchmarkMonitorRequestPaired(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts []MonitorOption
	}{
		{"monitor-off", []MonitorOption{WithoutLatency()}},
		{"monitor", nil},
	} {
		b.Run("config="+tt.name, func(b *testing.B) {
			base := monitorSide(b, NewMonitor(WithoutLatency()))
			other := monitorSide(b, NewMonitor(tt.opts...))
			b.ReportAllocs()
			r := pairbench.Run(b, 2048, base, other)
			b.ReportMetric(r.PerOp(r.BaseCPU), "off-cpu-ns/req")
			b.ReportMetric(r.PerOp(r.OtherCPU), "config-cpu-ns/req")
			b.ReportMetric(r.CPURatio, "cpu-ratio")
			b.ReportMetric(r.WallRatio, "ratio")
		})
	}
}

// routesMonitor returns a monitor with n routes tracked, each with requests in several
// buckets, failures and kept examples.
func routesMonitor(b *testing.B, n int) *Monitor {
	m := NewMonitor(WithMaxRoutes(n))
	tracer := benchProvider(b, []sdktrace.SpanProcessor{m}).Tracer("bench")
	now := time.Now()
	for r := range n {
		route := fmt.Sprintf("GET /api/v1/resource%03d/{id}", r)
		for i := range 50 {
			d := time.Duration(100+i*i*97) * time.Microsecond
			_, s := tracer.Start(context.Background(), route, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(now.Add(-d)))
			s.End(trace.WithTimestamp(now))
		}
	}
	if got := len(m.Latency(false)); got != n {
		b.Fatalf("%d routes, want %d", got, n)
	}
	return m
}

// BenchmarkMonitorRefresh is one refresh of the live page with 200 routes tracked: the JSON the
// page fetches every second (Stats, the latency table over both windows, runtime/metrics),
// served through ServeHTTP; cpu-ns/op is the process's CPU time for it.
func BenchmarkMonitorRefresh(b *testing.B) {
	for _, n := range []int{20, 200} {
		m := routesMonitor(b, n)
		b.Run(fmt.Sprintf("routes=%d/format=json", n), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/debug/ctxtrail?format=json", nil)
			done := reportCPU(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				m.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
			done()
		})
		b.Run(fmt.Sprintf("routes=%d/format=html", n), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/debug/ctxtrail", nil)
			done := reportCPU(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				m.ServeHTTP(w, req)
			}
			done()
		})
	}
}

// BenchmarkMonitorKeep is what keeping one example request costs the request that ends it (at
// most once a second per route, bucket and outcome): choosing its record and finding its four
// spans among the recent ones, with the ring of recent spans full of 1,024 requests' spans.
func BenchmarkMonitorKeep(b *testing.B) {
	m := NewMonitor()
	ctx := context.Background()
	var root trace.SpanContext
	for i := range DefaultRecentSpans / 4 {
		started, ended := requestSpans(b, trace.TraceID{0: 1, 14: byte(i >> 8), 15: byte(i)}) // the low half random, as the SDK's are
		for i := range started {
			m.OnStart(ctx, started[i])
			m.OnEnd(ended[i])
		}
		root = ended[len(ended)-1].SpanContext()
	}
	r := m.lat.routeFor(routeKey{name: "GET /cart", kind: uint8(trace.SpanKindServer)})
	done := reportCPU(b)
	for b.Loop() {
		m.keep(r, 3, false, root.TraceID(), root.SpanID(), 1e6, time.Now().UnixNano())
	}
	done()
	for i := range m.lat.kept {
		if k := &m.lat.kept[i]; k.bucket == 3 && len(k.spans) != 4 {
			b.Fatalf("kept %d spans, want the request's 4", len(k.spans))
		}
	}
}
