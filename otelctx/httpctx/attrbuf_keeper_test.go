package httpctx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/ctxtrail/ctxtrail/internal/attrbuf"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// keeperProvider is a tracer provider that is not the SDK's and keeps, without copying, the
// option slice its tracer's Start is handed and the attribute slices its spans' SetAttributes
// are handed, reading them only when asked. Nothing in the API forbids that, so ctxtrail must
// not reuse what it gave such a tracer (issue 28, goal 6).
type keeperProvider struct {
	embedded.TracerProvider
	mu    sync.Mutex
	spans []*keeperSpan
}

func (p *keeperProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return keeperTracer{p: p}
}

type keeperTracer struct {
	embedded.Tracer
	p *keeperProvider
}

func (t keeperTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	s := &keeperSpan{name: name, start: opts}
	t.p.mu.Lock()
	t.p.spans = append(t.p.spans, s)
	t.p.mu.Unlock()
	return trace.ContextWithSpan(ctx, s), s
}

type keeperSpan struct {
	embedded.Span
	name  string
	start []trace.SpanStartOption // as handed to Start, not copied
	set   [][]attribute.KeyValue  // as handed to SetAttributes, not copied
}

// attrs reads the span's attributes now, from the slices it kept.
func (s *keeperSpan) attrs() map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	cfg := trace.NewSpanStartConfig(s.start...)
	for _, kv := range cfg.Attributes() {
		m[kv.Key] = kv.Value
	}
	for _, kvs := range s.set {
		for _, kv := range kvs {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

func (s *keeperSpan) SetAttributes(kvs ...attribute.KeyValue) { s.set = append(s.set, kvs) }
func (*keeperSpan) SpanContext() trace.SpanContext            { return trace.SpanContext{} }
func (*keeperSpan) IsRecording() bool                         { return true }
func (*keeperSpan) End(...trace.SpanEndOption)                {}
func (*keeperSpan) AddEvent(string, ...trace.EventOption)     {}
func (*keeperSpan) AddLink(trace.Link)                        {}
func (*keeperSpan) RecordError(error, ...trace.EventOption)   {}
func (*keeperSpan) SetStatus(codes.Code, string)              {}
func (*keeperSpan) SetName(string)                            {}
func (*keeperSpan) TracerProvider() trace.TracerProvider      { return nil }

// TestAttrbufTracerThatKeepsSlices: under a tracer not known to copy, every server and client
// span still reads its own request's attributes after later requests have run, on one P where a
// pooled buffer would be handed straight to the next request.
func TestAttrbufTracerThatKeepsSlices(t *testing.T) {
	reuseOneP(t)
	tp := &keeperProvider{}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	defer down.Close()
	client := &http.Client{Transport: httpctx.NewTransport(nil, httpctx.WithTracerProvider(tp))}
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Get(down.URL + r.URL.Path)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		w.WriteHeader(200 + len(r.URL.Path)) // a status of the request's own
	}), httpctx.WithTracerProvider(tp))

	const n = 5
	for i := range n {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+strings.Repeat("x", i), nil))
	}
	runtime.GC() // a kept slice must not be cleared or reused later either

	if len(tp.spans) != 2*n {
		t.Fatalf("%d spans, want %d", len(tp.spans), 2*n)
	}
	server, clients := 0, 0
	for _, s := range tp.spans {
		got := s.attrs()
		switch {
		case got["url.path"].AsString() != "": // a server span
			path := got["url.path"].AsString()
			if st := got["http.response.status_code"].AsInt64(); st != int64(200+len(path)) {
				t.Errorf("server span %s: status %d, want %d; all %v", path, st, 200+len(path), got)
			}
			if got["http.request.method"].AsString() != "GET" {
				t.Errorf("server span %s: method %q", path, got["http.request.method"].AsString())
			}
			server++
		case got["url.full"].AsString() != "": // a client span
			if got["http.response.status_code"].AsInt64() != http.StatusCreated || got["http.request.method"].AsString() != "GET" {
				t.Errorf("client span %s: %v", got["url.full"].AsString(), got)
			}
			clients++
		default:
			t.Errorf("span %q lost its start attributes: %v", s.name, got)
		}
	}
	if server != n || clients != n {
		t.Errorf("%d server and %d client spans read intact, want %d each", server, clients, n)
	}
}

// The SDK's and the no-op tracers and spans get pooled buffers; any other does not.
func TestAttrbufCopies(t *testing.T) {
	sdk := sdktrace.NewTracerProvider()
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	_, sdkSpan := sdk.Tracer("t").Start(context.Background(), "s")
	defer sdkSpan.End()
	for _, tt := range []struct {
		name string
		v    any
		want bool
	}{
		{"SDK tracer", sdk.Tracer("t"), true},
		{"SDK span", sdkSpan, true},
		{"remote parent", trace.SpanFromContext(trace.ContextWithRemoteSpanContext(context.Background(), trace.SpanContext{})), true},
		{"keeping tracer", keeperTracer{}, false},
		{"keeping span", &keeperSpan{}, false},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := attrbuf.Copies(tt.v); got != tt.want {
				t.Errorf("Copies(%T) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}
