package httpctx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
)

// The tests in this file check that a span's pooled attribute buffer goes back to the pool only
// once the span has copied everything written to it, deterministically and without -race: two
// requests run in lockstep on one P, so that the pool hands the second request the buffer the
// first released. The second request's span-name formatter (user code, called after its start
// attributes are written and before its span starts) waits until the first request's span has
// ended. A buffer released before its span is done is then written by both, and the second span
// starts with the first's end attributes.

// reuseEnded is a span processor that closes a channel when a span ends, by span name.
type reuseEnded struct {
	mu    sync.Mutex
	chans map[string]chan struct{}
}

func (p *reuseEnded) wait(name string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.chans == nil {
		p.chans = map[string]chan struct{}{}
	}
	if p.chans[name] == nil {
		p.chans[name] = make(chan struct{})
	}
	return p.chans[name]
}

func (p *reuseEnded) OnEnd(s sdktrace.ReadOnlySpan)                   { close(p.wait(s.Name())) }
func (p *reuseEnded) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *reuseEnded) Shutdown(context.Context) error                  { return nil }
func (p *reuseEnded) ForceFlush(context.Context) error                { return nil }

func reuseAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// reuseOneP runs the test on one P, where sync.Pool hands the next Get what the last Put returned
// (the race detector's pool drops some Puts at random; it catches the shared writes instead).
func reuseOneP(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// reuseWait waits for ch, bounded so that a broken handler fails the test instead of hanging it.
func reuseWait(t *testing.T, ch <-chan struct{}, what string) {
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not happen within 10s", what)
	}
}

func reuseSpans(t *testing.T, rec *tracetest.SpanRecorder) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	return byName
}

// TestAttrbufServerSpansKeepTheirOwnAttributes: two requests to NewHandler on loopback, the second
// arriving while the first is in its handler: each server span carries its own request's start
// and end attributes.
func TestAttrbufServerSpansKeepTheirOwnAttributes(t *testing.T) {
	reuseOneP(t)
	rec := tracetest.NewSpanRecorder()
	ended := &reuseEnded{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSpanProcessor(ended))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	firstInHandler, secondNaming := make(chan struct{}), make(chan struct{})
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			close(firstInHandler)
			reuseWait(t, secondNaming, "the second request's span naming")
		}
		w.WriteHeader(http.StatusAccepted)
	}), httpctx.WithTracerProvider(tp), httpctx.WithSpanNameFormatter(func(r *http.Request) string {
		if r.URL.Path == "/second" { // its start attributes are in its buffer by now
			close(secondNaming)
			reuseWait(t, ended.wait("GET /first"), "the first request's span end")
		}
		return "GET " + r.URL.Path
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	ids := map[string]string{} // path → the x-request-id it was answered with
	var mu sync.Mutex
	var wg sync.WaitGroup
	get := func(path string) {
		defer wg.Done()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		ids[path] = resp.Header.Get(propagators.HeaderRequestID)
		mu.Unlock()
	}
	wg.Add(2)
	go get("/first")
	reuseWait(t, firstInHandler, "the first request's handler")
	go get("/second")
	wg.Wait()

	spans := reuseSpans(t, rec)
	for _, path := range []string{"/first", "/second"} {
		s := spans["GET "+path]
		if s == nil {
			t.Fatalf("no span for %s among %d", path, len(spans))
		}
		got := reuseAttrs(s)
		want := map[attribute.Key]any{
			"http.request.method":       "GET",
			"url.path":                  path,
			"url.scheme":                "http",
			"http.response.status_code": int64(http.StatusAccepted),
			otelctx.AttrRequestID:       ids[path],
		}
		for k, v := range want {
			if got[k].AsInterface() != v {
				t.Errorf("%s: %s = %v, want %v; all: %v", path, k, got[k].Emit(), v, s.Attributes())
			}
		}
	}
}

// TestAttrbufClientSpansKeepTheirOwnAttributes: two calls through NewTransport, the second made
// while the first waits for its answer: each client span carries its own call's attributes.
func TestAttrbufClientSpansKeepTheirOwnAttributes(t *testing.T) {
	reuseOneP(t)
	rec := tracetest.NewSpanRecorder()
	ended := &reuseEnded{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSpanProcessor(ended))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	firstAtServer, secondNaming := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			close(firstAtServer)
			reuseWait(t, secondNaming, "the second call's span naming")
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpctx.NewTransport(base, httpctx.WithTracerProvider(tp),
		httpctx.WithSpanNameFormatter(func(r *http.Request) string {
			if r.URL.Path == "/second" { // its start attributes are in its buffer by now
				close(secondNaming)
				reuseWait(t, ended.wait("GET /first"), "the first call's span end")
			}
			return "GET " + r.URL.Path
		}))}

	var wg sync.WaitGroup
	get := func(path string) {
		defer wg.Done()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body) // the client span ends at EOF
		resp.Body.Close()
	}
	wg.Add(2)
	go get("/first")
	reuseWait(t, firstAtServer, "the first call at the server")
	go get("/second")
	wg.Wait()

	spans := reuseSpans(t, rec)
	for _, path := range []string{"/first", "/second"} {
		s := spans["GET "+path]
		if s == nil {
			t.Fatalf("no span for %s among %d", path, len(spans))
		}
		got := reuseAttrs(s)
		want := map[attribute.Key]any{
			"http.request.method":       "GET",
			"url.full":                  srv.URL + path,
			"http.response.status_code": int64(http.StatusAccepted),
		}
		for k, v := range want {
			if got[k].AsInterface() != v {
				t.Errorf("%s: %s = %v, want %v; all: %v", path, k, got[k].Emit(), v, s.Attributes())
			}
		}
	}
}
