package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type dropSpans struct{}

func (dropSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (dropSpans) Shutdown(context.Context) error                             { return nil }

type requestIDKey struct{}

// BenchmarkServerMiddleware is one request through the server middleware alone, no network:
// what issue 19's profile of the request path points at. The request carries a traceparent and
// an x-request-id; the handler sets a header and answers 200. Each variant starts and ends one
// server span into the same SDK (batch processor, exporter that drops):
//
//   - floor: the SDK's W3C extract, a server span without attributes, the x-request-id kept,
//     echoed and put in the context: the least any SDK-based middleware can do;
//   - floor+attrs: the floor with the twelve attributes ctxtrail's span has here, set by hand
//     (seven at start, five at the end): what the SDK charges for the attributes alone;
//   - ctxtrail: httpctx.NewHandler with Install's propagator;
//   - otelhttp: otelhttp.NewHandler (no-op meter) around the same x-request-id glue.
//
// cpu-ns/op is process CPU (the collector's work included), which tracks the bytes a request
// allocates more closely than ns/op does on a shared machine.
func BenchmarkServerMiddleware(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(dropSpans{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
	})
	idGlue := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			w.Header().Set("X-Request-Id", id)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		})
	}
	tracer, w3c := tp.Tracer("floor"), propagation.TraceContext{}
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := w3c.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "server", trace.WithSpanKind(trace.SpanKindServer))
		idGlue(app).ServeHTTP(w, r.WithContext(ctx))
		span.End()
	})
	// floor+attrs is the floor with the attributes ctxtrail's server span carries, built by hand
	// the plainest way: what the SDK charges for the HTTP conventions' attributes themselves.
	floorAttrs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := w3c.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "GET /cart", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"), attribute.String("server.address", "127.0.0.1"),
			attribute.Int("server.port", 8080), attribute.String("user_agent.original", r.UserAgent()),
			attribute.String("client.address", "127.0.0.1")))
		idGlue(app).ServeHTTP(w, r.WithContext(ctx))
		span.SetAttributes(attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 50000),
			attribute.String("network.protocol.version", "1.1"), attribute.String("ctxtrail.request_id", "req-42"),
			attribute.Int("http.response.status_code", http.StatusOK))
		span.End()
	})
	variants := []struct {
		name string
		h    http.Handler
	}{
		{"floor", floor},
		{"floor+attrs", floorAttrs},
		{"ctxtrail", httpctx.NewHandler(app, httpctx.WithTracerProvider(tp), httpctx.WithPropagator(propagators.New()))},
		{"otelhttp", otelhttp.NewHandler(idGlue(app), "cart", otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(w3c), otelhttp.WithMeterProvider(noop.NewMeterProvider()))},
	}
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/cart", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Header.Set("User-Agent", "Go-http-client/1.1")
	r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	r.Header.Set("X-Request-Id", "req-42")
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				clear(w.Header())
				v.h.ServeHTTP(w, r)
				n++
			}
			cpu.report(b, n)
		})
	}
}
