package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// Every bad OTEL_TRACES_SAMPLER_ARG for the jaeger_remote samplers fails Install with ErrConfig,
// naming the setting and the key.
func TestRemoteSamplerBadArgs(t *testing.T) {
	tests := []struct {
		arg  string
		want []string
	}{
		{"endpoint", []string{"OTEL_TRACES_SAMPLER_ARG", `"endpoint" is not key=value`}},
		{"=http://x", []string{"OTEL_TRACES_SAMPLER_ARG", "is not key=value"}},
		{"endpoint=jaeger:5778", []string{"OTEL_TRACES_SAMPLER_ARG endpoint=", "http or https URL"}},
		{"endpoint=grpc://jaeger:14250", []string{"endpoint=", "speaks HTTP"}},
		{"endpoint=http://jaeger:99999/sampling", []string{"endpoint=", `port "99999"`}},
		{"endpoint=http://jaeger:5778/sampling?service=x", []string{"endpoint="}},
		{"pollingIntervalMs=5s", []string{"pollingIntervalMs=", "the unit is milliseconds", "pollingIntervalMs=5000"}},
		{"pollingIntervalMs=0", []string{"pollingIntervalMs=", "positive whole number of milliseconds"}},
		{"pollingIntervalMs=-10", []string{"pollingIntervalMs="}},
		{"initialSamplingRate=2", []string{"initialSamplingRate=", "ratio from 0 to 1"}},
		{"initialSamplingRate=NaN", []string{"initialSamplingRate=", "ratio from 0 to 1"}},
		{"initialSamplingRate=half", []string{"initialSamplingRate="}},
		{"initialsamplingrate=0.5", []string{"not \"initialsamplingrate\"", "case-sensitive"}},
		{"endpoint=http://a:5778,endpoint=http://b:5778", []string{"endpoint is given twice"}},
	}
	for _, name := range []string{"jaeger_remote", "parentbased_jaeger_remote"} {
		for _, tt := range tests {
			t.Run(name+"/"+tt.arg, func(t *testing.T) {
				clearEnv(t)
				t.Setenv("OTEL_TRACES_SAMPLER", name)
				t.Setenv("OTEL_TRACES_SAMPLER_ARG", tt.arg)
				p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter())
				if err == nil {
					_ = p.Shutdown(context.Background())
					t.Fatalf("Install accepted OTEL_TRACES_SAMPLER_ARG=%q", tt.arg)
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("error %v does not wrap ErrConfig", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			})
		}
	}
}

// sampledFraction starts n root spans named op and returns the fraction sampled.
func sampledFraction(p *Provider, op string, n int) float64 {
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
			p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(), WithServiceName("checkout"))
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
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter())
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
	p := install(t, WithoutExporter(), WithServiceName("checkout"))

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
