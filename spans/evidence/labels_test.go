package evidence

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"unsafe"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
)

// labelProbe blocks until release is closed, so that the goroutine profile shows its labels.
func labelProbe(started chan<- struct{}, release <-chan struct{}) {
	started <- struct{}{}
	<-release
}

// TestLabelsThroughHTTP: through httpctx.NewHandler on loopback, the handler's context carries
// the route, trace and span IDs next to the application's own label (from the server's base
// context); goroutines started with go and spans.Go carry them; and once the request ends, the
// connection's goroutine is back to the application's labels alone.
func TestLabelsThroughHTTP(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithProfileLabels())
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		ctxSeen map[string]string
		tidSeen string
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		got := map[string]string{}
		pprof.ForLabels(ctx, func(k, v string) bool { got[k] = v; return true })
		mu.Lock()
		ctxSeen, tidSeen = got, trace.SpanContextFromContext(ctx).TraceID().String()
		mu.Unlock()
		started := make(chan struct{}, 2)
		go labelProbe(started, release)
		spans.Go(ctx, "child", func(context.Context) error { labelProbe(started, release); return nil })
		<-started
		<-started
	})
	mux.HandleFunc("GET /after", func(w http.ResponseWriter, r *http.Request) {
		started := make(chan struct{}, 1)
		go afterProbe(started, release)
		<-started
	})
	base := pprof.WithLabels(context.Background(), pprof.Labels("app", "shop"))
	srv := serve(t, rec, tp, mux, base)
	// The connection goroutines of a real server inherit the labels of the goroutine that
	// serves; the app sets its own the way pprof.Do would.
	defer close(release)

	if code := get(t, srv.URL+"/items/7"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mu.Lock()
	want := map[string]string{"app": "shop", LabelRoute: "/items/{id}", LabelTraceID: tidSeen}
	for k, v := range want {
		if ctxSeen[k] != v {
			t.Errorf("handler's ctx label %s = %q, want %q (all: %v)", k, ctxSeen[k], v, ctxSeen)
		}
	}
	if len(ctxSeen[LabelSpanID]) != 16 {
		t.Errorf("span_id label %q, want 16 hex digits", ctxSeen[LabelSpanID])
	}
	mu.Unlock()
	probes := goroutineLabelsOf(t, "evidence.labelProbe")
	if len(probes) != 2 {
		t.Fatalf("found %d probe goroutines, want 2", len(probes))
	}
	for i, l := range probes {
		if l[LabelRoute] != "/items/{id}" || l[LabelTraceID] != tidSeen || l["app"] != "shop" {
			t.Errorf("goroutine %d started by the handler has labels %v, want the request's and the app's", i, l)
		}
	}
	// The same connection (keep-alive) serves the next request: the goroutine it starts from
	// an unwrapped route sees what the connection's goroutine carries between requests.
	if code := get(t, srv.URL+"/after"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	after := goroutineLabelsOf(t, "evidence.afterProbe")
	if len(after) != 1 {
		t.Fatalf("found %d after-probes, want 1", len(after))
	}
	if after[0]["app"] != "shop" || after[0][LabelRoute] != "/after" {
		t.Errorf("second request's goroutine has labels %v; want app=shop and its own route", after[0])
	}
}

func afterProbe(started chan<- struct{}, release <-chan struct{}) {
	started <- struct{}{}
	<-release
}

// TestAppLabelsSurviveBeginEnd: Begin adds to the labels of the context, End puts the goroutine
// back to exactly those labels.
func TestAppLabelsSurviveBeginEnd(t *testing.T) {
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithProfileLabels())
	ctx := pprof.WithLabels(context.Background(), pprof.Labels("app", "shop", "tenant", "t1"))
	pprof.SetGoroutineLabels(ctx)
	defer pprof.SetGoroutineLabels(context.Background())
	ctx, span := tp.Tracer("t").Start(ctx, "server")
	defer span.End()

	for range 3 {
		rctx, q := rec.Begin(ctx, "GET /x")
		if v, _ := pprof.Label(rctx, LabelRoute); v != "GET /x" {
			t.Fatalf("route label %q", v)
		}
		release := make(chan struct{})
		started := make(chan struct{}, 1)
		var wg sync.WaitGroup
		wg.Go(func() { surviveProbe(started, release) })
		<-started
		during := goroutineLabelsOf(t, "evidence.surviveProbe")
		close(release)
		wg.Wait()
		q.End("", false)
		if len(during) != 1 || during[0]["app"] != "shop" || during[0]["tenant"] != "t1" || during[0][LabelRoute] != "GET /x" {
			t.Fatalf("during the request the goroutine's labels are %v", during)
		}
		release = make(chan struct{})
		wg.Go(func() { surviveProbe(started, release) })
		<-started
		after := goroutineLabelsOf(t, "evidence.surviveProbe")
		close(release)
		wg.Wait()
		if len(after) != 1 || len(after[0]) != 2 || after[0]["app"] != "shop" || after[0]["tenant"] != "t1" {
			t.Fatalf("after End the goroutine's labels are %v, want exactly app=shop tenant=t1", after)
		}
	}
}

func surviveProbe(started chan<- struct{}, release <-chan struct{}) {
	started <- struct{}{}
	<-release
}

// TestLabelLimits: at most MaxLabels labels in all, values cut to MaxLabelValue bytes on a rune
// boundary, and the application's label of the same key kept.
func TestLabelLimits(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	appLabels := func(n int) []string {
		var kv []string
		for i := range n {
			kv = append(kv, "app"+string(rune('a'+i)), "v")
		}
		return kv
	}
	tests := []struct {
		name      string
		app       []string
		route     string
		wantCount int
		want      map[string]string
	}{
		{"none of the app's", nil, "GET /x", 3, map[string]string{LabelRoute: "GET /x"}},
		{"room for one", appLabels(9), "GET /x", 10, map[string]string{LabelRoute: "GET /x", LabelTraceID: ""}},
		{"no room", appLabels(10), "GET /x", 10, map[string]string{LabelRoute: ""}},
		{"long route", nil, long, 3, map[string]string{LabelRoute: strings.Repeat("é", 24)}},
		{"app's route kept", []string{LabelRoute, "mine"}, "GET /x", 3, map[string]string{LabelRoute: "mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.app != nil {
				ctx = pprof.WithLabels(ctx, pprof.Labels(tt.app...))
			}
			ctx = withRequestLabels(ctx, tt.route, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
			n := 0
			pprof.ForLabels(ctx, func(k, v string) bool {
				n++
				if len(k) > MaxLabelKey || len(v) > MaxLabelValue {
					t.Errorf("label %q=%q past the limits", k, v)
				}
				return true
			})
			if n != tt.wantCount {
				t.Errorf("%d labels, want %d", n, tt.wantCount)
			}
			for k, v := range tt.want {
				if got, _ := pprof.Label(ctx, k); got != v {
					t.Errorf("label %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestDisarmedMiddlewareIsNext: with nothing armed the middleware is the handler itself.
func TestDisarmedMiddlewareIsNext(t *testing.T) {
	rec := newRecorder(t)
	h := http.NewServeMux()
	if got, ok := rec.Middleware(h).(*http.ServeMux); !ok || got != h {
		t.Fatalf("disarmed Middleware returned %T, want the handler itself", rec.Middleware(h))
	}
	ctx := context.Background()
	if c, q := rec.Begin(ctx, "x"); c != ctx || q != nil {
		t.Fatal("disarmed Begin changed the context")
	}
}

// TestBeginEndAllocs counts what labels cost Begin+End: the Request, the span IDs' encoding
// (httpctx's slot spares it), and pprof's label list, labelMap and the context holding it.
func TestBeginEndAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts differ under -race")
	}
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithProfileLabels())
	ctx, span := tp.Tracer("t").Start(context.Background(), "server")
	defer span.End()
	allocs := testing.AllocsPerRun(200, func() {
		_, q := rec.Begin(ctx, "GET /x")
		q.End("", false)
	})
	t.Logf("Begin+End with labels: %.0f allocations", allocs)
	if allocs > 5 {
		t.Errorf("Begin+End with labels: %.0f allocations, want at most 5", allocs)
	}
	pprof.SetGoroutineLabels(context.Background())
}

// TestMiddlewareAllocs: through httpctx.NewHandler, armed labels cost 4 allocations a request
// over the disarmed middleware: pprof's label list, labelMap and context, and the request copy
// that carries the context to the handler.
func TestMiddlewareAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts differ under -race")
	}
	count := func(opts ...Option) float64 {
		tp, _ := newProvider(t)
		rec := newRecorder(t, opts...)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		h := httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(tp))
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/items/7", nil)
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	}
	base, armed := count(), count(WithProfileLabels())
	t.Logf("disarmed %.0f, labels %.0f allocations a request", base, armed)
	if armed-base > 4 {
		t.Errorf("labels cost %.0f allocations a request, want at most 4", armed-base)
	}
}

// TestUnsampledRequestHasNoTraceLabel: an unsampled request's trace cannot be found, so its
// goroutine carries the route and span ID (which the census needs) and no trace ID.
func TestUnsampledRequestHasNoTraceLabel(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	rec := newRecorder(t, WithProfileLabels())
	ctx, span := tp.Tracer("t").Start(context.Background(), "server")
	defer span.End()
	rctx, q := rec.Begin(ctx, "/x")
	defer q.End("", false)
	if _, ok := pprof.Label(rctx, LabelTraceID); ok {
		t.Error("an unsampled request carries a trace_id label")
	}
	if v, _ := pprof.Label(rctx, LabelSpanID); len(v) != 16 {
		t.Errorf("span_id label %q, want the span's ID", v)
	}
}

// TestInflightShardsOwnCacheLines: each shard of the in-flight set fills whole 64-byte lines,
// so requests on different cores do not share a line between two shards' locks.
func TestInflightShardsOwnCacheLines(t *testing.T) {
	var f inflight
	if n := unsafe.Sizeof(f.shards[0]); n%64 != 0 {
		t.Errorf("a shard takes %d bytes, want a multiple of 64", n)
	}
}
