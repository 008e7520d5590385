package shop

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// headerFlood sends n requests, conc at a time, each with a 1 MiB baggage header, to a server
// made by mk on 127.0.0.1 behind otelctx's middleware. It returns how many answered 431, how
// many reached the handler, and the peak heap growth while the flood ran.
func headerFlood(t *testing.T, mk func(http.Handler) *http.Server, n, conc int) (refused, served int64, peak uint64) {
	t.Helper()
	var handled atomic.Int64
	h := httpctx.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { handled.Add(1) }),
		httpctx.WithTracerProvider(sdktrace.NewTracerProvider()),
		httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {})))
	srv := mk(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served2 := make(chan error, 1)
	go func() { served2 <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served2; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() { // samples the heap while the flood runs
		defer sampler.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak {
				peak = ms.HeapInuse - base
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	bag := "k=" + strings.Repeat("v", 1<<20)
	tr := &http.Transport{MaxConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	var nRefused atomic.Int64
	jobs := make(chan struct{})
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
				req.Header.Set("baggage", bag)
				resp, err := client.Do(req)
				if err != nil {
					continue // the server may close while the client still writes
				}
				if resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
					nRefused.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	close(stop)
	sampler.Wait()
	return nRefused.Load(), handled.Load(), peak
}

// TestShopServerRefusesHeaderFloods: the shop's HTTP servers refuse a flood of 1 MiB headers with
// 431 before any handler runs, and the heap stays within a few MiB, where net/http's defaults
// read every megabyte.
func TestShopServerRefusesHeaderFloods(t *testing.T) {
	const n, conc = 128, 16
	refused, served, peak := headerFlood(t, NewHTTPServer, n, conc)
	t.Logf("shop server: %d of %d refused with 431, %d handled, peak heap growth %.1f MiB", refused, n, served, float64(peak)/(1<<20))
	if served != 0 {
		t.Fatalf("%d requests with 1 MiB headers reached the handler", served)
	}
	if refused == 0 {
		t.Fatal("no request was answered 431")
	}
	_, dServed, dPeak := headerFlood(t, func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout}
	}, n/4, conc) // a quarter of the flood: net/http reads every megabyte, slowly under -race
	t.Logf("net/http defaults: %d of %d handled, peak heap growth %.1f MiB", dServed, n/4, float64(dPeak)/(1<<20))
	// The bound is loose on purpose (the test client's own buffers count too); with the
	// defaults the same flood is read whole, 16 MiB at a time (about 27 MiB of growth measured).
	if peak > 24<<20 {
		t.Fatalf("peak heap growth %.1f MiB under the flood, want the header limit to bound it", float64(peak)/(1<<20))
	}
}
