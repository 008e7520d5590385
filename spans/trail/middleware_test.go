package trail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newServer serves app on 127.0.0.1 behind otelctx's middleware and this package's, with
// reports going to the returned sink.
func newServer(t *testing.T, app http.Handler, opts ...Option) (*httptest.Server, *tracetest.SpanRecorder, *MemorySink) {
	t.Helper()
	tp, rec := newProvider(t)
	sink := NewMemorySink(1000)
	h := httpctx.NewHandler(
		NewHandler(app, append([]Option{WithSink(sink)}, opts...)...),
		httpctx.WithTracerProvider(tp), httpctx.WithPropagator(propagators.New()),
	)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, rec, sink
}

func get(t *testing.T, c *http.Client, url string) (status int, body string, hdr http.Header, err error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

//go:noinline
func panicHandler(w http.ResponseWriter, r *http.Request) {
	AddBreadcrumb(r.Context(), "about to fail", attribute.String("item", "book"))
	panic("boom")
}

func TestMiddlewarePanicBeforeHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", panicHandler)
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if FromContext(r.Context()) == nil {
			t.Error("handler runs without a trail")
		}
		_, _ = io.WriteString(w, "ok")
	})
	srv, rec, sink := newServer(t, mux)

	status, body, hdr, err := get(t, srv.Client(), srv.URL+"/boom")
	if err != nil || status != http.StatusInternalServerError || body != "Internal Server Error\n" {
		t.Fatalf("panicking request: %d %q %v, want a 500", status, body, err)
	}
	// The server is alive and well.
	if status, body, _, err := get(t, srv.Client(), srv.URL+"/ok"); err != nil || status != 200 || body != "ok" {
		t.Fatalf("request after the panic: %d %q %v", status, body, err)
	}

	reports := sink.Reports()
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1 (the panic only)", len(reports))
	}
	r := reports[0]
	if !r.Panic || r.Message != "panic: boom" || r.Errors[0] != (ErrorInfo{Type: "string", Message: "boom"}) {
		t.Errorf("report = panic %v, %q, %+v", r.Panic, r.Message, r.Errors)
	}
	if r.StackSource != StackFromPanic || r.Stack[0].Function != "github.com/ctxtrail/ctxtrail/spans/trail.panicHandler" {
		t.Errorf("stack from %s starts at %v, want the panicking handler", r.StackSource, r.Stack[0])
	}
	if got := messages(r.Breadcrumbs); !slices.Equal(got, []string{"about to fail"}) {
		t.Errorf("crumbs = %v", got)
	}
	if r.RequestID == "" || r.RequestID != hdr.Get("X-Request-Id") || r.TraceID != hdr.Get("X-Trace-Id") {
		t.Errorf("report ids %s/%s, response headers %s/%s", r.RequestID, r.TraceID, hdr.Get("X-Request-Id"), hdr.Get("X-Trace-Id"))
	}
	if !slices.Contains(r.Context, attribute.String("url.path", "/boom")) {
		t.Errorf("context = %v, want url.path from the otelctx middleware", r.Context)
	}

	var server sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() == r.TraceID {
			server = s
		}
	}
	if server == nil {
		t.Fatal("no server span for the report's trace")
	}
	if server.Status().Code != codes.Error {
		t.Errorf("server span status = %v, want Error", server.Status())
	}
	ex := eventsNamed(server, semconv.ExceptionEventName)
	if len(ex) != 1 || !slices.Contains(ex[0].Attributes, ReportIDKey.String(r.ID)) {
		t.Errorf("server span exception events = %v, want one with the report id", ex)
	}
	if len(eventsNamed(server, EventName)) != 1 {
		t.Error("breadcrumb not recorded on the server span")
	}
}

func TestMiddlewarePanicAfterHeaders(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"flushed body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "partial")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush through the middleware: %v", err)
			}
			panic("late")
		}},
		{"buffered header", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("late")
		}},
		{"hijacked", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack through the middleware: %v", err)
				return
			}
			defer conn.Close()
			panic("late")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/late", tt.handler)
			mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
			// The client may see the connection end before the middleware's capture has run
			// (the hijacked handler closes it while unwinding): wait for the report itself.
			reports := make(chan *Report, 4)
			srv, _, _ := newServer(t, mux, WithSink(SinkFunc(func(_ context.Context, r *Report) { reports <- r })))

			status, body, _, err := get(t, srv.Client(), srv.URL+"/late")
			if err == nil {
				t.Errorf("client got a clean %d %q; want the cut response aborted", status, body)
			}
			if status == http.StatusInternalServerError {
				t.Error("a 500 was sent after the headers")
			}
			select {
			case r := <-reports:
				if r.Message != "panic: late" {
					t.Fatalf("report %q, want the late panic", r.Message)
				}
			case <-time.After(time.Minute):
				t.Fatal("no report")
			}
			if status, body, _, err := get(t, srv.Client(), srv.URL+"/ok"); err != nil || status != 200 || body != "ok" {
				t.Fatalf("request after the panic: %d %q %v", status, body, err)
			}
		})
	}
}

func TestMiddlewareInterimResponseThenPanic(t *testing.T) {
	srv, _, sink := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		panic("after hints")
	}))
	status, _, _, err := get(t, srv.Client(), srv.URL)
	if err != nil || status != http.StatusInternalServerError {
		t.Fatalf("got %d, %v; want 500: a 103 is not the final response", status, err)
	}
	if len(sink.Reports()) != 1 {
		t.Fatal("panic not captured")
	}
}

func TestMiddlewareLetsAbortThrough(t *testing.T) {
	srv, _, sink := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	if _, _, _, err := get(t, srv.Client(), srv.URL); err == nil {
		t.Fatal("aborted request answered")
	}
	if n := len(sink.Reports()); n != 0 {
		t.Fatalf("%d reports for http.ErrAbortHandler, want none", n)
	}
}

func TestMiddlewareErrorPanicValue(t *testing.T) {
	srv, _, sink := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(fmt.Errorf("render: %w", errors.New("template missing")))
	}))
	if status, _, _, _ := get(t, srv.Client(), srv.URL); status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", status)
	}
	r := sink.Reports()[0]
	if len(r.Errors) != 2 || r.Errors[1].Message != "template missing" || !r.Panic {
		t.Fatalf("report of an error panic = %+v", r)
	}
}

func TestMiddlewareNoPanic(t *testing.T) {
	var got []Breadcrumb
	mw := Middleware(WithMaxBreadcrumbs(2))
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			AddBreadcrumb(r.Context(), fmt.Sprint(i))
		}
		got = FromContext(r.Context()).Breadcrumbs()
		w.WriteHeader(http.StatusNoContent)
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	if rr.Code != http.StatusNoContent || !slices.Equal(messages(got), []string{"1", "2"}) {
		t.Fatalf("status %d crumbs %v; want 204 and the Middleware options applied", rr.Code, messages(got))
	}
	// A nil next is a 404, not a panic.
	rr = httptest.NewRecorder()
	NewHandler(nil).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	if rr.Code != http.StatusNotFound {
		t.Fatalf("nil next: %d", rr.Code)
	}
}

func TestResponseWriterForwards(t *testing.T) {
	rr := httptest.NewRecorder()
	w := &responseWriter{ResponseWriter: rr}
	if _, err := w.ReadFrom(strings.NewReader("body")); err != nil || !w.wroteHeader || rr.Body.String() != "body" {
		t.Fatalf("ReadFrom: %v, wroteHeader %v, body %q", err, w.wroteHeader, rr.Body.String())
	}
	if _, _, err := w.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Hijack on a recorder = %v, want http.ErrNotSupported", err)
	}
	w2 := &responseWriter{ResponseWriter: httptest.NewRecorder()}
	w2.Flush()
	if !w2.wroteHeader {
		t.Fatal("Flush did not mark the headers sent")
	}
}

// The middleware outside (otelctx's) names its span after the route a ServeMux inside matched;
// the trail's request copy must not hide that pattern.
func TestMiddlewareHandsBackThePattern(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(http.ResponseWriter, *http.Request) {})
	var pattern string
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.WithContext(r.Context()) // what a tracing middleware passes on
		NewHandler(mux).ServeHTTP(w, r2)
		pattern = r2.Pattern
	})
	outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/orders/7", nil))
	if pattern != "GET /orders/{id}" {
		t.Fatalf("pattern %q after the trail middleware, want the mux's", pattern)
	}
}
