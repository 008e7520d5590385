package httpctx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkHandlerServeMux measures the middleware around a ServeMux, whose pattern it looks up
// before serving (the mux looks it up again as it serves), against the same app behind a
// handler that is no ServeMux, where the route is learnt after the handler returns.
func BenchmarkHandlerServeMux(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(b.Context())
	mux := http.NewServeMux()
	for _, p := range []string{"GET /items/{id}", "POST /items", "GET /users/{id}/orders", "/healthz", "GET /static/"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}
	opts := []httpctx.HandlerOption{httpctx.WithTracerProvider(tp), httpctx.WithPropagator(xtComposite()),
		httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {}))}
	for _, app := range []struct {
		name string
		h    http.Handler
	}{
		{"next=ServeMux", mux},
		{"next=wrapped-ServeMux", http.HandlerFunc(mux.ServeHTTP)},
	} {
		b.Run(app.name, func(b *testing.B) {
			h := httpctx.NewHandler(app.h, opts...)
			r := httptest.NewRequest(http.MethodGet, "/items/42", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				clear(w.Header())
				h.ServeHTTP(w, r)
			}
		})
	}
}
