package benchmarks

// Benchmarks for issue 17: the server middleware alone, in-process (httptest recorder, no
// network), with its HTTP metrics on, against otelhttp.NewHandler with its metrics recorded
// into a real SDK MeterProvider, and against ctxtrail's defaults (metrics into a provider with
// no reader). All three share one SDK tracer provider that samples every span and exports
// nothing. BenchmarkMetricsPaired runs the three in interleaved blocks (ABC ABC ...) in one
// process, so the load of a shared machine falls on all three alike, and reports each one's
// time (one goroutine, so time is the CPU the request costs plus whatever the machine's load
// steals, alike for all three within a block) and allocations per request, and the ratios the
// issue's goals are about (median over the blocks).

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type metricsContender struct {
	name string
	h    http.Handler
}

func metricsContenders(b *testing.B) []metricsContender {
	tp := sdktrace.NewTracerProvider()
	mpOTel := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithMetricReader(sdkmetric.NewManualReader()))
	if err != nil {
		b.Fatal(err)
	}
	pDefaults, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mpOTel.Shutdown(context.Background())
		_ = p.Shutdown(context.Background())
		_ = pDefaults.Shutdown(context.Background())
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return []metricsContender{
		{"CtxtrailDefaults", httpctx.NewHandler(mux, httpctx.WithTracerProvider(tp), httpctx.WithMeterProvider(pDefaults.MeterProvider()))},
		{"CtxtrailMetrics", httpctx.NewHandler(mux, httpctx.WithTracerProvider(tp), httpctx.WithMeterProvider(p.MeterProvider()))},
		{"OTelHTTPMetrics", otelhttp.NewHandler(mux, "users", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mpOTel))},
	}
}

// BenchmarkMetricsPaired: b.N requests per contender, in blocks of 500, interleaved.
func BenchmarkMetricsPaired(b *testing.B) {
	cs := metricsContenders(b)
	req := httptest.NewRequest("GET", "/users/42", nil)
	w := httptest.NewRecorder()
	serve := func(h http.Handler) {
		clear(w.Header())
		h.ServeHTTP(w, req)
	}
	allocs := make([]float64, len(cs))
	for i, c := range cs {
		serve(c.h) // fill caches
		allocs[i] = testing.AllocsPerRun(1000, func() { serve(c.h) })
	}
	const block = 500
	ratios := [][]float64{nil, nil} // per block: Metrics/Defaults, Metrics/OTel
	cpu := make([]time.Duration, len(cs))
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		var t [3]time.Duration
		for i, c := range cs {
			start := time.Now()
			for range n {
				serve(c.h)
			}
			t[i] = time.Since(start)
			cpu[i] += t[i]
		}
		ratios[0] = append(ratios[0], float64(t[1])/float64(t[0]))
		ratios[1] = append(ratios[1], float64(t[1])/float64(t[2]))
	}
	b.StopTimer()
	for i, c := range cs {
		b.ReportMetric(float64(cpu[i])/float64(b.N), c.name+"-ns/req")
		b.ReportMetric(allocs[i], c.name+"-allocs/req")
	}
	b.ReportMetric(median(ratios[0]), "Metrics/Defaults-time")
	b.ReportMetric(median(ratios[1]), "Metrics/OTel-time")
	b.ReportMetric(allocs[1]-allocs[0], "Metrics-Defaults-allocs")
	b.ReportMetric(allocs[1]/allocs[2], "Metrics/OTel-allocs")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
