package httpctx

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tsHop is what each service of the chain answers: the tracestate it received and its
// downstream's answer.
type tsHop struct {
	Service    string `json:"service"`
	Tracestate string `json:"tracestate"`
	Down       *tsHop `json:"down,omitempty"`
}

// tsService runs one service on loopback whose propagator is propagators.New (Install's default). It answers
// with the tracestate it received and, when down is set, calls down first; edit, when set,
// changes the span context's TraceState before the call, as vendor code would.
func tsService(t *testing.T, name, down string, edit func(trace.TraceState) trace.TraceState, opts ...HandlerOption) *httptest.Server {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	prop := propagators.New()
	base := &http.Transport{}
	client := &http.Client{Transport: NewTransport(base, WithTracerProvider(tp), WithPropagator(prop))}
	srv := httptest.NewServer(NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hop := tsHop{Service: name, Tracestate: strings.Join(r.Header.Values("Tracestate"), ",")}
		ctx := r.Context()
		if edit != nil {
			sc := trace.SpanContextFromContext(ctx)
			ctx = trace.ContextWithSpanContext(ctx, sc.WithTraceState(edit(sc.TraceState())))
		}
		if down != "" {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, down, nil)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			hop.Down = new(tsHop)
			if err := json.NewDecoder(resp.Body).Decode(hop.Down); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
		_ = json.NewEncoder(w).Encode(hop)
	}), append([]HandlerOption{WithTracerProvider(tp), WithPropagator(prop), WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {}))}, opts...)...))
	t.Cleanup(func() {
		srv.Close()
		base.CloseIdleConnections()
		_ = tp.Shutdown(context.Background())
	})
	return srv
}

func tsSend(t *testing.T, url string, tracestate string) tsHop {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("tracestate", tracestate)
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hop tsHop
	if err := json.NewDecoder(resp.Body).Decode(&hop); err != nil || hop.Down == nil || hop.Down.Down == nil {
		t.Fatalf("chain answered %+v, %v", hop, err)
	}
	return hop
}

// A service that receives a Level 2 tracestate passes it on unchanged, through B to C: the
// specification's MUST, which the SDK's propagator alone breaks.
func TestLevel2TracestateThroughThreeServices(t *testing.T) {
	const l2 = "1vendor=opaque,acme@tenant@eu=x,congo=t61rcWkgMzE"
	c := tsService(t, "C", "", nil)
	b := tsService(t, "B", c.URL, nil)
	a := tsService(t, "A", b.URL, nil)
	hop := tsSend(t, a.URL, l2)
	if hop.Tracestate != l2 || hop.Down.Tracestate != l2 || hop.Down.Down.Tracestate != l2 {
		t.Fatalf("tracestate A %q, B %q, C %q; want %q at each", hop.Tracestate, hop.Down.Tracestate, hop.Down.Down.Tracestate, l2)
	}
}

// Vendor code in B adds a member and updates one: those go first, the rest follow unchanged.
func TestLevel2TracestateWithLocalMembers(t *testing.T) {
	c := tsService(t, "C", "", nil)
	b := tsService(t, "B", c.URL, func(ts trace.TraceState) trace.TraceState {
		ts, _ = ts.Insert("congo", "updated")
		ts, _ = ts.Insert("rojo", "new")
		return ts
	})
	a := tsService(t, "A", b.URL, nil)
	hop := tsSend(t, a.URL, "1vendor=opaque,congo=old")
	if got, want := hop.Down.Down.Tracestate, "rojo=new,congo=updated,1vendor=opaque"; got != want {
		t.Fatalf("C got tracestate %q, want %q", got, want)
	}
}

// A trust boundary starts a new trace, and the caller's tracestate stays outside with it.
func TestLevel2TracestateStopsAtTrustBoundary(t *testing.T) {
	c := tsService(t, "C", "", nil)
	b := tsService(t, "B", c.URL, nil, WithTrustBoundary())
	a := tsService(t, "A", b.URL, nil)
	hop := tsSend(t, a.URL, "1vendor=opaque")
	if hop.Down.Tracestate != "1vendor=opaque" || hop.Down.Down.Tracestate != "" {
		t.Fatalf("tracestate at B %q, at C %q; want it to reach B only", hop.Down.Tracestate, hop.Down.Down.Tracestate)
	}
}

// An incoming request of the same trace without a Level 2 list does not inherit an outer one,
// and a Level 2 list is not reported as a bad tracestate.
func TestLevelTwoExtractAndWarnings(t *testing.T) {
	prop := propagators.New()
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("tracestate", "1a=1")
	outer := prop.Extract(context.Background(), propagators.HeaderCarrier(h))
	if tsOut(prop, outer) != "1a=1" {
		t.Fatal("Level 2 list not kept")
	}
	h.Del("tracestate")
	inner := prop.Extract(outer, propagators.HeaderCarrier(h))
	out := http.Header{}
	prop.Inject(inner, propagators.HeaderCarrier(out))
	if out.Get("tracestate") != "" || tsOut(prop, inner) != "" {
		t.Fatalf("inner request inherited %q", out.Get("tracestate"))
	}

	for _, tt := range []struct {
		tracestate string
		warns      bool
	}{{"1a=1", false}, {"rojo=1", false}, {"1a=1,1a=2", false}, {"A=1", true}, {"1a=1,1a=", true}} {
		sink := new(mwSink)
		wl := propagators.NewWarnLimiter(time.Hour, sink.sink)
		srv := httptest.NewServer(NewHandler(http.NotFoundHandler(), WithWarnLimiter(wl),
			WithPropagator(prop), WithTracerProvider(sdktrace.NewTracerProvider())))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		req.Header.Set("tracestate", tt.tracestate)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if got := len(sink.reports()) > 0; got != tt.warns {
			t.Errorf("tracestate %q: warned %v (%v), want %v", tt.tracestate, got, sink.reports(), tt.warns)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// tsOut is the tracestate prop sends from ctx.
func tsOut(prop propagation.TextMapPropagator, ctx context.Context) string {
	h := http.Header{}
	prop.Inject(ctx, propagators.HeaderCarrier(h))
	return h.Get("tracestate")
}
