package httpctx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// liveSpans keeps the server spans as they start, so a test can read their names while they
// are still running, as the live monitor does.
type liveSpans struct {
	mu    sync.Mutex
	spans []sdktrace.ReadWriteSpan
}

func (l *liveSpans) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s.SpanKind() == trace.SpanKindServer {
		l.mu.Lock()
		l.spans = append(l.spans, s)
		l.mu.Unlock()
	}
}
func (*liveSpans) OnEnd(sdktrace.ReadOnlySpan)      {}
func (*liveSpans) Shutdown(context.Context) error   { return nil }
func (*liveSpans) ForceFlush(context.Context) error { return nil }

func (l *liveSpans) only(t *testing.T) sdktrace.ReadWriteSpan {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spans) != 1 {
		t.Fatalf("%d server spans, want 1", len(l.spans))
	}
	return l.spans[0]
}

// routeInFlight serves one GET of path through a real server on loopback whose app is made by
// app (given the handler that blocks); while that handler blocks, it returns the server span's
// name and the Route the handler saw, then lets the request finish and returns the ended
// span's name.
func routeInFlight(t *testing.T, path string, app func(block http.HandlerFunc) http.Handler, opts ...httpctx.HandlerOption) (live, route, ended string) {
	t.Helper()
	spans := new(liveSpans)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	entered, release := make(chan string, 1), make(chan struct{})
	block := func(w http.ResponseWriter, r *http.Request) {
		entered <- otelctx.Route(r.Context())
		<-release
	}
	srv := httptest.NewServer(httpctx.NewHandler(app(block), append([]httpctx.HandlerOption{httpctx.WithTracerProvider(tp)}, opts...)...))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: base}).Get(srv.URL + path)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	route = <-entered
	span := spans.only(t)
	live = span.Name() // the span is running: its handler is blocked on release
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return live, route, span.Name()
}

// A server span behind a ServeMux carries its route's name from its start, not the method
// alone until it ends, so the live monitor names requests in flight by their route.
func TestRouteNamesServerSpanWhileInFlight(t *testing.T) {
	tests := []struct {
		name                         string
		path                         string
		app                          func(block http.HandlerFunc) http.Handler
		opts                         []httpctx.HandlerOption
		wantLive, wantRoute, wantEnd string
	}{
		{"ServeMux", "/items/42", func(block http.HandlerFunc) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", block)
			return mux
		}, nil, "GET /items/{id}", "/items/{id}", "GET /items/{id}"},
		{"ServeMux with a host and a subtree pattern", "/files/a/b", func(block http.HandlerFunc) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("127.0.0.1/files/", block)
			return mux
		}, nil, "GET /files/", "/files/", "GET /files/"},
		{"formatter sees the pattern", "/items/42", func(block http.HandlerFunc) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", block)
			return mux
		}, []httpctx.HandlerOption{httpctx.WithSpanNameFormatter(func(r *http.Request) string { return "custom " + r.Pattern })},
			"custom GET /items/{id}", "/items/{id}", "custom GET /items/{id}"},
		// A ServeMux inside a ServeMux: the outer pattern while the inner one serves, the inner
		// one at the end, as before.
		{"nested ServeMux", "/api/items/42", func(block http.HandlerFunc) http.Handler {
			inner := http.NewServeMux()
			inner.HandleFunc("GET /api/items/{id}", block)
			outer := http.NewServeMux()
			outer.Handle("/api/", inner)
			return outer
		}, nil, "GET /api/", "/api/", "GET /api/items/{id}"},
		// Another router names the route with SetRoute: the span is renamed at once.
		{"SetRoute before the handler", "/things/7", func(block http.HandlerFunc) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				otelctx.SetRoute(r.Context(), "/things/{id}")
				block(w, r)
			})
		}, nil, "GET /things/{id}", "/things/{id}", "GET /things/{id}"},
		{"no route", "/nowhere", func(block http.HandlerFunc) http.Handler { return block }, nil, "GET", "", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, route, ended := routeInFlight(t, tt.path, tt.app, tt.opts...)
			if live != tt.wantLive {
				t.Errorf("span named %q while the request runs, want %q", live, tt.wantLive)
			}
			if route != tt.wantRoute {
				t.Errorf("Route in the handler %q, want %q", route, tt.wantRoute)
			}
			if ended != tt.wantEnd {
				t.Errorf("span named %q at its end, want %q", ended, tt.wantEnd)
			}
		})
	}
}
