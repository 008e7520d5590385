package jaegerremote_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/trace"
)

// The Monitor's sampled-out count under the samplers OTEL_TRACES_SAMPLER=jaeger_remote and
// parentbased_jaeger_remote choose with Enable: Install wraps the remote sampler, once it polls, with
// WithSamplerWrapper(mon.Sampler), and every span the sampler drops is counted, exactly, by
// name; the remote strategy (probabilistic 0.5, served as Jaeger serves it) is what decides.
func TestMonitorSampledOutUnderJaegerRemote(t *testing.T) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		if r.URL.Query().Get("service") != "checkout" {
			http.Error(w, "unknown service", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`))
	}))
	defer srv.Close()

	for _, name := range []string{"jaeger_remote", "parentbased_jaeger_remote"} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", name)
			// Initial rate 0: until the first poll every span is dropped, so a sampler that never
			// reached the endpoint samples nothing and fails the fraction check below.
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+srv.URL+"/sampling,pollingIntervalMs=50,initialSamplingRate=0")
			mon := spans.NewMonitor()
			p, err := ctxtrail.Install(context.Background(), jaegerremote.Enable(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
				ctxtrail.WithServiceName("checkout"), ctxtrail.WithSpanProcessor(mon), ctxtrail.WithSamplerWrapper(mon.Sampler))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := p.Shutdown(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			tracer := p.Tracer("test")

			// trace starts a root and a child and reports which were sampled.
			trace := func() (root, child bool) {
				ctx, r := tracer.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer))
				_, c := tracer.Start(ctx, "charge")
				c.End()
				r.End()
				return r.SpanContext().IsSampled(), c.SpanContext().IsSampled()
			}
			// Wait for the strategy: the first sampled root. Spans dropped meanwhile count too.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if root, _ := trace(); root {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no span sampled after 10s: the sampler never applied the strategy (%d polls)", polls.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}

			before := mon.Stats()
			const n = 4000
			var droppedRoots, droppedChildren uint64
			for range n {
				root, child := trace()
				if !root {
					droppedRoots++
				}
				if !child {
					droppedChildren++
				}
			}
			after := mon.Stats()
			rows, rowsBefore := nameStats(after), nameStats(before)
			delta := func(key string) spans.Counts {
				a, b := rows[key], rowsBefore[key]
				return spans.Counts{Created: a.Created - b.Created, SampledOut: a.SampledOut - b.SampledOut}
			}
			for _, c := range []struct {
				key     string
				dropped uint64
			}{{"GET /checkout/server", droppedRoots}, {"charge/internal", droppedChildren}} {
				d := delta(c.key)
				if d.SampledOut != c.dropped || d.Created+d.SampledOut != n {
					t.Errorf("%s: monitor counted %d sampled out and %d created of %d, the sampler dropped %d",
						c.key, d.SampledOut, d.Created, n, c.dropped)
				}
			}
			if got := after.SampledOut - before.SampledOut; got != droppedRoots+droppedChildren {
				t.Errorf("sampled out overall: %d, want %d", got, droppedRoots+droppedChildren)
			}
			// The children follow their root: by its sampled flag (parent-based) or by the same
			// trace ID under the same probabilistic strategy (jaeger_remote alone).
			if droppedChildren != droppedRoots {
				t.Errorf("%d children dropped, %d roots", droppedChildren, droppedRoots)
			}
			// The strategy's 0.5, within 5 standard deviations of n binomial draws.
			frac := 1 - float64(droppedRoots)/n
			if math.Abs(frac-0.5) > 5*math.Sqrt(0.25/n) {
				t.Errorf("sampled fraction %.4f, want 0.5 ± %.4f: not the remote strategy's rate", frac, 5*math.Sqrt(0.25/n))
			}
			t.Logf("%s: %d of %d roots sampled out, counted by name and overall", name, droppedRoots, n)
		})
	}
}
