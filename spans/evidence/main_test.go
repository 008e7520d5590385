package evidence

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/ctxtrail/ctxtrail/spans/evidence.trulyLeaked"))
}

// newProvider returns an SDK tracer provider that records every span, shut down when the test ends.
func newProvider(t testing.TB) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// newRecorder returns a Recorder shut down when the test ends; the environment is ignored.
func newRecorder(t testing.TB, opts ...Option) *Recorder {
	t.Helper()
	r, err := New(append([]Option{withGetenv(func(string) string { return "" })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return r
}

// serve runs mux behind httpctx.NewHandler with the Recorder's middleware inside it, on
// 127.0.0.1, as a user would.
func serve(t testing.TB, r *Recorder, tp *sdktrace.TracerProvider, mux *http.ServeMux, base context.Context) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(httpctx.NewHandler(r.Middleware(mux), httpctx.WithTracerProvider(tp)))
	if base != nil {
		srv.Config.BaseContext = func(_ net.Listener) context.Context { return base }
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// goroutineLabelsOf returns the pprof labels of each goroutine whose stack holds the function fn
// (ending in a package-qualified name such as "evidence.labelProbe"), from the goroutine profile.
func goroutineLabelsOf(t testing.TB, fn string) []map[string]string {
	t.Helper()
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	parseGoroutines([]byte(b.String()), func(g goroutineGroup) {
		for _, f := range g.frames {
			if strings.Contains(f, fn+" ") {
				for range g.count {
					out = append(out, g.labels)
				}
				return
			}
		}
	})
	return out
}

// eventually polls cond every 10ms for up to 10s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newLoopback serves h on 127.0.0.1 until the test ends and returns its URL.
func newLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
