package httpctx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// keepService is one service of a two-service chain: its own tracer provider with the capture
// in front of an in-memory exporter, sampling nothing at the head.
type keepService struct {
	tp   *sdktrace.TracerProvider
	kp   *keep.Processor
	exp  *tracetest.InMemoryExporter
	opts []httpctx.HTTPOption
}

func newKeepService(t *testing.T) *keepService {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	kp := keep.NewProcessor([]sdktrace.SpanProcessor{sdktrace.NewSimpleSpanProcessor(exp)})
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(keep.Sampler(sdktrace.ParentBased(sdktrace.NeverSample()))),
		sdktrace.WithSpanProcessor(kp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &keepService{tp: tp, kp: kp, exp: exp, opts: []httpctx.HTTPOption{
		httpctx.WithTracerProvider(tp), httpctx.WithPropagator(propagation.TraceContext{})}}
}

func (s *keepService) handlerOpts(extra ...httpctx.HandlerOption) []httpctx.HandlerOption {
	out := extra
	for _, o := range s.opts {
		out = append(out, o)
	}
	return out
}

func (s *keepService) transportOpts(extra ...httpctx.TransportOption) []httpctx.TransportOption {
	out := extra
	for _, o := range s.opts {
		out = append(out, o)
	}
	return out
}

// chain starts the callee (behind handler opts) and a caller whose handler calls it through
// a Transport, both on loopback, and returns the caller's URL.
func chain(t *testing.T, caller, callee *keepService, calleeFn http.HandlerFunc,
	calleeOpts []httpctx.HandlerOption, transportOpts []httpctx.TransportOption) string {
	t.Helper()
	down := httptest.NewServer(httpctx.NewHandler(calleeFn, callee.handlerOpts(calleeOpts...)...))
	t.Cleanup(down.Close)
	client := &http.Client{Transport: httpctx.NewTransport(nil, caller.transportOpts(transportOpts...)...)}
	up := httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, down.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		w.WriteHeader(http.StatusOK) // the caller itself does fine
	}), caller.handlerOpts()...))
	t.Cleanup(up.Close)
	t.Cleanup(client.CloseIdleConnections)
	return up.URL
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// failInside answers 200 after a span inside it failed: only the keep signal can tell the
// caller, whose own spans all succeed.
func failInside(tp *sdktrace.TracerProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, span := tp.Tracer("callee").Start(r.Context(), "cache refresh")
		span.SetStatus(codes.Error, "stale")
		span.End()
		_, _ = io.WriteString(w, "ok, served stale")
	}
}

func TestKeepSignalCallerKeepsWhatTheCalleeKept(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	url := chain(t, caller, callee, failInside(callee.tp), nil, nil)
	// The caller kept too, and says so to its own caller: the signal climbs the whole path.
	if resp := get(t, url); resp.Header.Get(httpctx.HeaderKeep) != "1" {
		t.Errorf("the caller's response has %s %q, want 1", httpctx.HeaderKeep, resp.Header.Get(httpctx.HeaderKeep))
	}
	down, up := callee.exp.GetSpans(), caller.exp.GetSpans()
	if len(down) != 2 {
		t.Fatalf("callee exported %d spans, want its server span and the failed one", len(down))
	}
	if len(up) != 2 {
		t.Fatalf("caller exported %d spans (%v), want its server and client spans: the callee kept", len(up), up)
	}
	// One trace, parents linked across the services.
	byName := map[string]tracetest.SpanStub{}
	for _, s := range append(down, up...) {
		byName[s.Name] = s
		if s.SpanContext.TraceID() != up[0].SpanContext.TraceID() || !s.SpanContext.IsSampled() {
			t.Errorf("%s: trace %s sampled %v", s.Name, s.SpanContext.TraceID(), s.SpanContext.IsSampled())
		}
	}
	client, server := byName["GET"], byName["GET"]
	for _, s := range up {
		if s.SpanKind.String() == "client" {
			client = s
		}
	}
	for _, s := range down {
		if s.SpanKind.String() == "server" {
			server = s
		}
	}
	if server.Parent.SpanID() != client.SpanContext.SpanID() {
		t.Errorf("callee's server span has parent %s, want the caller's client span %s", server.Parent.SpanID(), client.SpanContext.SpanID())
	}
	if v, _ := attrOf(client, keep.AttrCalleeKept); v != "true" {
		t.Errorf("client span %s = %q, want true", keep.AttrCalleeKept, v)
	}
	if st := caller.kp.Stats(); st.KeptCallee != 1 || st.Signals != 1 {
		t.Errorf("caller stats %+v", st)
	}
}

// TestKeepSignalHandlerThatWritesNothing: a handler that returns without writing gets the 200
// net/http sends after it, and the keep signal must go with that 200 too.
func TestKeepSignalHandlerThatWritesNothing(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	fail := failInside(callee.tp)
	url := chain(t, caller, callee, func(w http.ResponseWriter, r *http.Request) {
		fail(httptest.NewRecorder(), r) // the failed span, not the body
	}, nil, nil)
	get(t, url)
	if n := len(callee.exp.GetSpans()); n != 2 {
		t.Errorf("callee exported %d spans, want its server span and the failed one", n)
	}
	if n := len(caller.exp.GetSpans()); n != 2 {
		t.Errorf("caller exported %d spans, want 2: the callee kept", n)
	}
}

func TestKeepSignalServerErrorKeepsBoth(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	url := chain(t, caller, callee, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}, nil, nil)
	get(t, url)
	if n := len(callee.exp.GetSpans()); n != 1 {
		t.Errorf("callee exported %d spans, want 1", n)
	}
	if n := len(caller.exp.GetSpans()); n != 2 {
		t.Errorf("caller exported %d spans, want 2", n)
	}
	// A span the capture records is not sampled at the head, yet it is exported: the handler and
	// the Transport end it as fully as a sampled one (the unsampled path is for spans that do not
	// record at all).
	check := func(s tracetest.SpanStub, want string) {
		t.Helper()
		if v, _ := attrOf(s, "http.response.status_code"); v != want {
			t.Errorf("%s span %s: http.response.status_code %q, want %s", s.SpanKind, s.Name, v, want)
		}
		if (want == "503") != (s.Status.Code == codes.Error) {
			t.Errorf("%s span %s: status %v with code %s", s.SpanKind, s.Name, s.Status, want)
		}
	}
	for _, s := range callee.exp.GetSpans() {
		check(s, "503")
	}
	for _, s := range caller.exp.GetSpans() {
		if s.SpanKind.String() == "client" {
			check(s, "503") // what the callee answered
		} else {
			check(s, "200") // the caller itself did fine
		}
	}
}

func TestKeepSignalNoneForFastSuccess(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	url := chain(t, caller, callee, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }, nil, nil)
	for range 5 {
		get(t, url)
	}
	if n, m := len(callee.exp.GetSpans()), len(caller.exp.GetSpans()); n != 0 || m != 0 {
		t.Errorf("exported %d and %d spans of fast successful requests", n, m)
	}
}

func TestKeepSignalNotSentAcrossTrustBoundary(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	url := chain(t, caller, callee, failInside(callee.tp), []httpctx.HandlerOption{httpctx.WithTrustBoundary()}, nil)
	get(t, url)
	if n := len(callee.exp.GetSpans()); n != 2 {
		t.Errorf("callee exported %d spans: it keeps its own trace", n)
	}
	if n := len(caller.exp.GetSpans()); n != 0 {
		t.Errorf("caller exported %d spans: a public endpoint must not tell its caller", n)
	}
}

func TestKeepSignalIgnoredWithoutKeepSignal(t *testing.T) {
	caller, callee := newKeepService(t), newKeepService(t)
	url := chain(t, caller, callee, failInside(callee.tp), nil, []httpctx.TransportOption{httpctx.WithoutKeepSignal()})
	get(t, url)
	if n := len(caller.exp.GetSpans()); n != 0 {
		t.Errorf("caller exported %d spans though its transport ignores the signal", n)
	}
}

func TestKeepSignalBadValueIgnored(t *testing.T) {
	caller := newKeepService(t)
	// A callee without ctxtrail (or a hostile one) that sends a bad value.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(httpctx.HeaderKeep, "yes please")
	}))
	t.Cleanup(down.Close)
	client := &http.Client{Transport: httpctx.NewTransport(nil, caller.transportOpts()...)}
	t.Cleanup(client.CloseIdleConnections)
	ctx, root := caller.tp.Tracer("t").Start(context.Background(), "job")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, down.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	root.End()
	if n := len(caller.exp.GetSpans()); n != 0 {
		t.Errorf("exported %d spans on a bad keep value", n)
	}
	if st := caller.kp.Stats(); st.BadSignals != 1 {
		t.Errorf("stats %+v: want the bad value counted", st)
	}
}

func attrOf(s tracetest.SpanStub, key string) (string, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}
