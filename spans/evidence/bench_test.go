package evidence

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// BenchmarkMiddleware is one request through httpctx.NewHandler and the Recorder's middleware
// (ResponseRecorder, no network), as the evidence.md table compares: disarmed, labels, labels and
// census bookkeeping, flight recorder armed (no capture).
func BenchmarkMiddleware(b *testing.B) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"disarmed", nil},
		{"labels", []Option{WithProfileLabels()}},
		{"labels+leftbehind", []Option{WithLeftBehind(time.Hour, time.Hour)}},
		{"flight", []Option{WithFlightRecorder(time.Hour)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
			defer func() { _ = tp.Shutdown(b.Context()) }()
			rec := newRecorder(b, c.opts...)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			h := httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(tp))
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/items/7", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
