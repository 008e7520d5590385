package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// benchProvider records spans without keeping them: the cost measured is the span's, not a
// recorder's growing memory.
func benchProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

func BenchmarkAddBreadcrumb(b *testing.B) {
	data := []attribute.KeyValue{attribute.String("item", "book"), attribute.Int("qty", 2)}
	passThrough := func(_ context.Context, c Breadcrumb) (Breadcrumb, bool) { return c, true }
	cases := []struct {
		name  string
		trail []Option
		span  bool
	}{
		{"no_trail_no_span", nil, false},
		{"trail", []Option{}, false},
		{"trail_filter", []Option{WithBeforeBreadcrumb(passThrough)}, false},
		{"span_only", nil, true},
		{"trail_span", []Option{}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if c.trail != nil {
				ctx = Start(ctx, c.trail...)
			}
			if c.span {
				// A fresh span every 100 crumbs keeps the SDK under its 128-event limit, past
				// which it only counts events; each span gets its own fresh trail too.
				tracer := benchProvider(b).Tracer("bench")
				start := func() (context.Context, func()) {
					sctx := context.Background()
					if c.trail != nil {
						sctx = Start(sctx, c.trail...)
					}
					sctx, s := tracer.Start(sctx, "op")
					return sctx, func() { s.End() }
				}
				ctx, end := start()
				b.ReportAllocs()
				for i := range b.N {
					if i%100 == 99 {
						end()
						ctx, end = start()
					}
					AddBreadcrumb(ctx, "added to cart", data...)
				}
				end()
				return
			}
			b.ReportAllocs()
			for range b.N {
				AddBreadcrumb(ctx, "added to cart", data...)
			}
		})
	}
}

// BenchmarkAddBreadcrumbParallel is many goroutines of one request adding to one trail.
func BenchmarkAddBreadcrumbParallel(b *testing.B) {
	ctx := Start(context.Background())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			AddBreadcrumb(ctx, "step", attribute.Int("n", 1))
		}
	})
}

func BenchmarkCapture(b *testing.B) {
	err := fmt.Errorf("checkout: %w", errors.Join(errors.New("card declined"), errors.New("audit down")))
	discard := SinkFunc(func(context.Context, *Report) {})
	for _, frames := range []int{0, DefaultMaxFrames} {
		b.Run(fmt.Sprintf("crumbs=100/frames=%d", frames), func(b *testing.B) {
			tp := benchProvider(b)
			ctx := Start(context.Background(), WithSink(discard), WithMaxFrames(frames))
			for i := range 100 {
				AddBreadcrumb(ctx, "step", attribute.Int("n", i))
			}
			b.ReportAllocs()
			for range b.N {
				sctx, span := tp.Tracer("bench").Start(ctx, "op")
				Capture(sctx, err)
				span.End()
			}
		})
	}
}

func BenchmarkReportJSON(b *testing.B) {
	ctx := Start(context.Background())
	for i := range 100 {
		AddBreadcrumb(ctx, "step", attribute.Int("n", i))
	}
	r := Capture(ctx, errors.New("boom"))
	b.ReportAllocs()
	for range b.N {
		if _, err := json.Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddleware is the cost NewHandler adds to a request that does not panic.
func BenchmarkMiddleware(b *testing.B) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", app}, {"trail", NewHandler(app)}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for range b.N {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
