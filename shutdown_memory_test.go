package ctxtrail

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// heapInUse returns the bytes of live heap objects after two collections (the second frees what
// the first's finalizers and cleanups released).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestShutdownLeavesNothingBehind (issue 28, goal 5): a Provider keeps nothing reachable after
// its Shutdown. Each of 2,000 Providers records metrics, serves a request with a bad header
// through a handler given WithProvider (so its WarnLimiter counts, and its bad-header metric
// has something to read), and is shut down; the heap ends where it began. A package-level
// registry keyed by meter provider (as httpctx's warnRegistry was) keeps every Provider, its
// SDK pipelines and its limiter: some 60 MiB here.
func TestShutdownLeavesNothingBehind(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector's shadow memory makes heap figures meaningless")
	}
	clearMetricsEnv(t)
	const n = 2000
	ctx := context.Background()
	cycle := func() {
		p, err := Install(ctx, WithoutGlobal(), WithoutExporter(), WithMetricReader(sdkmetric.NewManualReader()),
			WithErrorHandler(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		h := httpctx.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httpctx.WithProvider(p))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Traceparent", "garbage")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got := p.WarnLimiter().Total(); got != 1 {
			t.Fatalf("the limiter counted %d bad headers, want 1", got)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 { // pools, caches and the SDK's first-use state settle
		cycle()
	}
	before := heapInUse()
	for range n {
		cycle()
	}
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("heap %d KiB before, %d KiB after %d providers: %+d KiB", before>>10, after>>10, n, growth>>10)
	if growth > 2<<20 {
		t.Errorf("the heap grew by %d KiB over %d installed and shut down providers, want under 2 MiB: something keeps them",
			growth>>10, n)
	}
}
