//go:build unix

package evidence

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/trace"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
)

// benchHandler is a small but real request: a server span from httpctx, one child span from
// spans.Run with an attribute, a JSON-ish body.
func benchHandler(t testing.TB, tp *sdktrace.TracerProvider, rec *Recorder) func(ops int) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = spans.Run(r.Context(), "load item", func(ctx context.Context) error {
			oteltrace.SpanFromContext(ctx).SetAttributes(attribute.String("item.id", r.PathValue("id")))
			return nil
		})
		_, _ = w.Write([]byte(`{"id":7}`))
	})
	h := httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(tp))
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/items/7", nil)
	return func(ops int) {
		for range ops {
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
}

func benchProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(discardExporter{})))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

func report(b *testing.B, r pairbench.Result) {
	b.ReportMetric(r.CPURatio, "cpu-ratio")
	b.ReportMetric(r.CPUDiff, "cpu-ns-added/op")
	b.ReportMetric(float64(r.Pairs), "pairs")
}

// BenchmarkPairedLabels: disarmed middleware against armed labels, paired blocks.
func BenchmarkPairedLabels(b *testing.B) {
	tp := benchProvider(b)
	base := benchHandler(b, tp, newRecorder(b))
	other := benchHandler(b, tp, newRecorder(b, WithProfileLabels()))
	b.ReportAllocs()
	report(b, pairbench.Run(b, 2000, base, other))
}

// BenchmarkPairedRuntimeRecorder: what the runtime's flight recorder alone costs the request
// (no ctxtrail on top): blocks without it against blocks with it running, started before and
// stopped after each of its blocks (the start and stop are inside the timing; blocks are long).
func BenchmarkPairedRuntimeRecorder(b *testing.B) {
	tp := benchProvider(b)
	serve := benchHandler(b, tp, newRecorder(b))
	other := func(ops int) {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: DefaultRecorderMinAge, MaxBytes: DefaultRecorderMaxBytes})
		if err := fr.Start(); err != nil {
			b.Fatal(err)
		}
		serve(ops)
		fr.Stop()
	}
	report(b, pairbench.Run(b, 20000, serve, other))
}

// BenchmarkPairedCtxtrailOnRecorder: with the runtime's recorder running for both sides, the
// disarmed middleware against the flight recorder armed (no request slow enough to capture):
// ctxtrail's own share.
func BenchmarkPairedCtxtrailOnRecorder(b *testing.B) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: DefaultRecorderMinAge, MaxBytes: DefaultRecorderMaxBytes})
	if err := fr.Start(); err != nil {
		b.Fatal(err)
	}
	defer fr.Stop()
	tp := benchProvider(b)
	base := benchHandler(b, tp, newRecorder(b))
	other := benchHandler(b, tp, newRecorder(b, WithSharedFlightRecorder(fr), WithFlightRecorder(time.Hour)))
	b.ReportAllocs()
	report(b, pairbench.Run(b, 2000, base, other))
}

// BenchmarkCapture is one capture's work off the request path (the recorder's snapshot and
// reading it for the request's window) after load requests filled the recorder; cpu-ns/op is the
// process CPU per capture.
func BenchmarkCapture(b *testing.B) {
	for _, load := range []int{1000, 20000} {
		b.Run(fmt.Sprintf("after=%d", load), func(b *testing.B) {
			tp := benchProvider(b)
			rec := newRecorder(b, WithFlightRecorder(time.Hour))
			benchHandler(b, tp, rec)(load)
			ctx, span := tp.Tracer("t").Start(context.Background(), "server")
			_, q := rec.Begin(ctx, "/slow")
			benchHandler(b, tp, rec)(100)
			q.End("", false)
			span.End()
			var buf bytes.Buffer
			cpu0 := pairbench.CPUTime()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				if _, err := rec.flight.fr.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
				if _, err := analyze(buf.Bytes(), q.sid); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(pairbench.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(buf.Len()), "trace-bytes")
		})
	}
}

// BenchmarkCensus is one census round with n goroutines parked under finished requests' labels
// (and the benchmark's own); cpu-ns/op is the process CPU per round.
func BenchmarkCensus(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			tp := benchProvider(b)
			rec := newRecorder(b, WithLeftBehind(time.Hour, time.Hour))
			release := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				ctx, span := tp.Tracer("t").Start(context.Background(), "server")
				rctx, q := rec.Begin(ctx, fmt.Sprintf("/route%d", i%20))
				wg.Go(func() { leakedWorker(release) })
				_ = rctx
				q.End("", false)
				span.End()
			}
			defer func() { close(release); wg.Wait() }()
			cpu0 := pairbench.CPUTime()
			b.ResetTimer()
			for b.Loop() {
				rec.CensusNow()
			}
			b.StopTimer()
			b.ReportMetric(float64(pairbench.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
