package jaegerremote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// sampledFraction starts n root spans named op and returns the fraction sampled.
func sampledFraction(p *ctxtrail.Provider, op string, n int) float64 {
	tr := p.Tracer("remote-sampling-test")
	sampled := 0
	for range n {
		_, s := tr.Start(context.Background(), op)
		if s.SpanContext().IsSampled() {
			sampled++
		}
		s.End()
	}
	return float64(sampled) / float64(n)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// With nothing at the endpoint, Install still returns, spans are sampled at initialSamplingRate,
// the failure is reported through otel.Handle once, and Shutdown stops the poller (goleak in
// TestMain fails the package otherwise).
func TestRemoteSamplerUnreachableFallsBackToInitialRate(t *testing.T) {
	rec := new(errSink)
	old := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(rec.sink))
	defer otel.SetErrorHandler(old)

	addr := closedPort(t)
	for _, rate := range []float64{0, 1} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", "jaeger_remote")
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", fmt.Sprintf("endpoint=http://%s,pollingIntervalMs=20,initialSamplingRate=%v", addr, rate))
			p, err := ctxtrail.Install(context.Background(), jaegerremote.Enable(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
				ctxtrail.WithServiceName("checkout"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			for i := 0; i < 5; i++ { // across several failed polls
				if got := sampledFraction(p, "GET /", 200); got != rate {
					t.Fatalf("sampled fraction %v with the endpoint down, want initialSamplingRate %v", got, rate)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	// The SDK reads OTEL_TRACES_SAMPLER itself in NewTracerProvider and reports "unsupported
	// sampler: jaeger_remote" before Install's WithSampler replaces its choice; that report is
	// the SDK's, not ours, and is left out here.
	ours := func() []error {
		var out []error
		for _, e := range rec.reports() {
			if !strings.Contains(e.Error(), "unsupported sampler") {
				out = append(out, e)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(ours()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reports := ours()
	if len(reports) == 0 {
		t.Fatal("a failing poll was not reported through otel.Handle")
	}
	msg := reports[0].Error()
	for _, w := range []string{"jaeger_remote", "http://" + addr + "/sampling", "initialSamplingRate="} {
		if !strings.Contains(msg, w) {
			t.Errorf("report %q does not contain %q", msg, w)
		}
	}
	// One report per minute per sampler at most: two samplers ran many failing polls.
	if len(reports) > 2 {
		t.Errorf("%d reports, want at most one per sampler: %v", len(reports), reports)
	}
}

// A strategy server that hangs does not hold up Install, requests or Shutdown: Shutdown cancels
// the poll in flight.
func TestRemoteSamplerHungEndpoint(t *testing.T) {
	var inFlight atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		<-r.Context().Done() // until the client gives up
	}))
	defer srv.Close()
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+srv.URL+",initialSamplingRate=1")
	p, err := ctxtrail.Install(context.Background(), jaegerremote.Enable(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for inFlight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if inFlight.Load() == 0 {
		t.Fatal("the sampler never polled")
	}
	if got := sampledFraction(p, "GET /", 100); got != 1 {
		t.Errorf("sampled %v while the poll hangs, want initialSamplingRate 1", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The poll was cancelled by Shutdown, not left to the 10s client timeout: the handler saw
	// its request end (srv.Close would block on it otherwise).
	for inFlight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d polls still in flight after Shutdown", n)
	}
}

// The sampler follows what the endpoint serves, and the parent-based variant keeps a sampled
// remote parent's decision whatever the strategy says.
func TestRemoteSamplerFollowsServedStrategy(t *testing.T) {
	var rate atomic.Value
	rate.Store("0")
	var services atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		services.Store(r.URL.Query().Get("service"))
		fmt.Fprintf(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":%s}}`, rate.Load())
	}))
	defer srv.Close()
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+srv.URL+"/sampling, pollingIntervalMs=20, initialSamplingRate=1")
	p := install(t, ctxtrail.WithoutExporter(), ctxtrail.WithServiceName("checkout"))

	waitFraction := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := sampledFraction(p, "GET /", 100)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("sampled fraction %v, want %v after the strategy changed", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFraction(0)
	if s, _ := services.Load().(string); s != "checkout" {
		t.Errorf("the sampler asked for service %q, want checkout", s)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	_, child := p.Tracer("t").Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "child")
	if !child.SpanContext().IsSampled() {
		t.Error("parentbased_jaeger_remote dropped the child of a sampled remote parent")
	}
	child.End()
	rate.Store("1")
	waitFraction(1)
}

// The same environment that Install refuses without Enable (ErrConfig naming the variable and
// this package) it accepts with it; a bad argument is still ErrConfig, read by Install itself.
func TestEnableIsWhatInstallAsksFor(t *testing.T) {
	for _, name := range []string{"jaeger_remote", "parentbased_jaeger_remote"} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", name)
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint=http://"+closedPort(t)+",pollingIntervalMs=60000")
			opts := []ctxtrail.Option{ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(), ctxtrail.WithErrorHandler(func(error) {})}
			_, err := ctxtrail.Install(context.Background(), opts...)
			if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "jaegerremote.Enable()") {
				t.Fatalf("Install without Enable: %v, want ErrConfig naming jaegerremote.Enable()", err)
			}
			p, err := ctxtrail.Install(context.Background(), append(opts, jaegerremote.Enable())...)
			if err != nil {
				t.Fatalf("Install with Enable: %v", err)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			t.Setenv("OTEL_TRACES_SAMPLER_ARG", "pollingIntervalMs=5s")
			_, err = ctxtrail.Install(context.Background(), append(opts, jaegerremote.Enable())...)
			if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "pollingIntervalMs=5000") {
				t.Fatalf("Install with Enable and a bad argument: %v, want ErrConfig naming the key", err)
			}
		})
	}
}

// Failed polls go to WithErrorHandler's function, and nowhere else, whether Install sets the
// global error handler or not; the first poll runs as soon as the sampler starts, so the handler
// must be in place by then (TestInstallWarningsReachErrorHandlerFirst checks Install's side of
// this with a stand-in sampler). The SDK's "unsupported sampler" complaint about the variable
// Install reads itself is not passed on.
func TestFailedPollsReachErrorHandler(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "strategies unavailable", http.StatusInternalServerError)
	}))
	defer failing.Close()

	for _, global := range []bool{true, false} {
		t.Run(fmt.Sprintf("global=%v", global), func(t *testing.T) {
			for run := range 4 { // the poll raced Install's handler one run in four, once
				clearEnv(t)
				t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
				t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+failing.URL+"/sampling,pollingIntervalMs=60000")
				stray := new(errSink)
				old := otel.GetErrorHandler()
				otel.SetErrorHandler(otel.ErrorHandlerFunc(stray.sink))
				service := new(errSink)

				opts := []ctxtrail.Option{jaegerremote.Enable(), ctxtrail.WithErrorHandler(service.sink),
					ctxtrail.WithoutExporter(), ctxtrail.WithServiceName("checkout")}
				if !global {
					opts = append(opts, ctxtrail.WithoutGlobal())
				}
				p, err := ctxtrail.Install(context.Background(), opts...)
				if err != nil {
					otel.SetErrorHandler(old)
					t.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Second) // a bound, not a timing assertion
				for service.find("jaeger_remote sampler") == nil && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				err = p.Shutdown(context.Background())
				otel.SetErrorHandler(old)
				if err != nil {
					t.Fatal(err)
				}

				got := service.find("jaeger_remote sampler")
				if got == nil || !strings.Contains(got.Error(), "status 500") || !strings.Contains(got.Error(), failing.URL+"/sampling") {
					t.Errorf("run %d: the service's handler did not get the failed poll; it got %v", run, service.reports())
				}
				if err := service.find("unsupported sampler"); err != nil {
					t.Errorf("run %d: the service's handler was told %q about a sampler Install reads itself", run, err)
				}
				errs := stray.reports()
				if !global {
					// The SDK's NewTracerProvider reads OTEL_TRACES_SAMPLER itself and reports its
					// complaint through otel.Handle, which WithoutGlobal leaves alone.
					errs = slices.DeleteFunc(errs, func(err error) bool {
						return err.Error() == "unsupported sampler: parentbased_jaeger_remote"
					})
				}
				if len(errs) > 0 {
					t.Errorf("run %d: went to the global error handler instead: %v", run, errs)
				}
			}
		})
	}
}
