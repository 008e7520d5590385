package httpctx

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Every server and client span of a request carries its request ID, so the ID a user copies
// from a log line finds the whole trace: through three real servers, with the caller's ID and
// with one the first handler made.
func TestRequestIDOnEverySpan(t *testing.T) {
	for _, tt := range []struct {
		name string
		sent []string // header fields of the outside request
	}{
		{"caller's ID", []string{"x-request-id", "ticket-4711"}},
		{"ID made by the first service", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b, c := mwChain(t)
			rep, hdr := mwCall(t, a, tt.sent...)
			id := hdr.Get("x-request-id")
			if len(tt.sent) > 0 && id != tt.sent[1] {
				t.Fatalf("x-request-id %q, want the caller's %q", id, tt.sent[1])
			}
			if id == "" || rep.RequestID != id {
				t.Fatalf("request ID %q in the response, %q in the handler", id, rep.RequestID)
			}
			spans := 0
			for _, s := range []*mwService{a, b, c} {
				for _, sp := range s.rec.Ended() {
					spans++
					if v, ok := mwAttr(sp, otelctx.AttrRequestID); !ok || v.AsString() != id {
						t.Errorf("service %s, %v span %q: %s = %q (set %v), want %q",
							s.name, sp.SpanKind(), sp.Name(), otelctx.AttrRequestID, v.AsString(), ok, id)
					}
				}
			}
			if spans != 5 {
				t.Fatalf("%d spans, want 5 (three server, two client)", spans)
			}
		})
	}
}

// xtServer runs h behind NewHandler on loopback with a span recorder.
func xtServer(t *testing.T, h http.Handler, opts ...HandlerOption) (*httptest.Server, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	opts = append([]HandlerOption{WithTracerProvider(tp), WithPropagator(mwPropagator())}, opts...)
	srv := httptest.NewServer(NewHandler(h, opts...))
	t.Cleanup(srv.Close)
	return srv, rec
}

func xtGet(t *testing.T, client *http.Client, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestFilterLeavesRequestsUntraced(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if trace.SpanContextFromContext(r.Context()).IsValid() || otelctx.RequestID(r.Context()) != "" {
			w.Header().Set("Seen", "traced")
		}
	})
	notHealth := func(r *http.Request) bool { return r.URL.Path != "/healthz" }
	srv, rec := xtServer(t, mux, WithFilter(notHealth), WithFilter(nil))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	for _, tt := range []struct {
		path   string
		traced bool
	}{
		{"/healthz", false},
		{"/debug/ctxtrail", false}, // the monitor's page, left out by default
		{"/debug/ctxtrail/", false},
		{"/debug/ctxtrail/active", false},
		{"/debug/ctxtrailer", true},
		{"/debug", true},
		{"/orders", true},
	} {
		before := len(rec.Ended())
		resp := xtGet(t, client, srv.URL+tt.path)
		spans := len(rec.Ended()) - before
		traced := resp.Header.Get("Seen") == "traced"
		if traced != tt.traced || (spans == 1) != tt.traced || (resp.Header.Get("X-Request-Id") != "") != tt.traced {
			t.Errorf("%s: handler saw a trace %v, %d spans, x-request-id %q; want traced %v",
				tt.path, traced, spans, resp.Header.Get("X-Request-Id"), tt.traced)
		}
	}
}

func TestTransportFilterSendsWithoutSpanOrHeaders(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("Traceparent")
		mu.Unlock()
	}))
	defer back.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: NewTransport(base, WithTracerProvider(tp), WithPropagator(mwPropagator()),
		WithFilter(func(r *http.Request) bool { return !strings.HasSuffix(r.URL.Path, "/healthz") }))}

	ctx, parent := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "parent")
	for _, p := range []string{"/healthz", "/orders"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, back.URL+p, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	parent.End()
	mu.Lock()
	defer mu.Unlock()
	if got["/healthz"] != "" || got["/orders"] == "" {
		t.Errorf("traceparent sent: healthz %q, orders %q; want only orders", got["/healthz"], got["/orders"])
	}
	if n := len(rec.Ended()); n != 2 { // parent and the /orders client span
		t.Errorf("%d spans ended, want 2", n)
	}
}

// A router NewHandler cannot see names the route with SetRoute: the span is renamed, http.route
// set, from deep in the handler and even from a goroutine the handler waits for.
func TestSetRouteNamesTheServerSpan(t *testing.T) {
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otelctx.AddFields(r.Context(), attribute.String("layer", "inner")) // a later store version
		switch {
		case strings.HasPrefix(r.URL.Path, "/users/"):
			otelctx.SetRoute(ctx, "/users/{id}")
		case strings.HasPrefix(r.URL.Path, "/async/"):
			done := make(chan struct{})
			go func() { defer close(done); otelctx.SetRoute(ctx, "/async/{job}") }()
			<-done
		case strings.HasPrefix(r.URL.Path, "/twice/"):
			otelctx.SetRoute(ctx, "/first")
			otelctx.SetRoute(ctx, "/twice/{n}")
		}
		if got := otelctx.Route(ctx); got != "" {
			w.Header().Set("Route", got)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/users/", router) // SetRoute wins over the ServeMux pattern "/users/"
	mux.Handle("/", router)
	srv, rec := xtServer(t, mux)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	for _, tt := range []struct{ path, name, route string }{
		{"/users/42", "GET /users/{id}", "/users/{id}"},
		{"/async/7", "GET /async/{job}", "/async/{job}"},
		{"/twice/2", "GET /twice/{n}", "/twice/{n}"},
		{"/other", "GET /", "/"}, // no SetRoute: the ServeMux pattern
	} {
		before := len(rec.Ended())
		resp := xtGet(t, client, srv.URL+tt.path)
		ended := rec.Ended()[before:]
		if len(ended) != 1 {
			t.Fatalf("%s: %d spans", tt.path, len(ended))
		}
		sp := ended[0]
		v, _ := mwAttr(sp, "http.route")
		if sp.Name() != tt.name || v.AsString() != tt.route {
			t.Errorf("%s: span %q http.route %q, want %q %q", tt.path, sp.Name(), v.AsString(), tt.name, tt.route)
		}
		if tt.route != "/" && resp.Header.Get("Route") != tt.route {
			t.Errorf("%s: Route(ctx) = %q", tt.path, resp.Header.Get("Route"))
		}
	}

	// The formatter sees the route through Route.
	srv2, rec2 := xtServer(t, router, WithSpanNameFormatter(func(r *http.Request) string {
		return "route=" + otelctx.Route(r.Context())
	}))
	xtGet(t, client, srv2.URL+"/users/1")
	if sp := rec2.Ended(); len(sp) != 1 || sp[0].Name() != "route=/users/{id}" {
		t.Errorf("formatter: spans %v", sp)
	}

	// Outside a handler it does nothing and never panics.
	otelctx.SetRoute(context.Background(), "/x")
	otelctx.SetRoute(otelctx.AddFields(context.Background(), attribute.String("k", "v")), "/x")
	if otelctx.Route(context.Background()) != "" {
		t.Error("Route outside a request")
	}
}

// The connection attributes otelhttp records on a server span, through a real server.
func TestServerSpanConnectionAttributes(t *testing.T) {
	srv, rec := xtServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "hello")
	}))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	for _, tt := range []struct {
		name, xff, client string
	}{
		{"peer", "", "127.0.0.1"},
		{"forwarded", "203.0.113.9, 10.0.0.1", "203.0.113.9"},
		{"forwarded v6", "2001:db8::1", "2001:db8::1"},
		{"forwarded garbage", "<script>", "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.Ended())
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/in", strings.NewReader("eleven byte"))
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sp := rec.Ended()[before]
			want := map[string]string{
				"server.address":          "127.0.0.1",
				"server.port":             port,
				"network.peer.address":    "127.0.0.1",
				"client.address":          tt.client,
				"http.request.body.size":  "11",
				"http.response.body.size": "5",
			}
			for k, w := range want {
				if v, _ := mwAttr(sp, k); v.Emit() != w {
					t.Errorf("%s = %q, want %q", k, v.Emit(), w)
				}
			}
			if v, _ := mwAttr(sp, "network.peer.port"); v.AsInt64() <= 0 || v.AsInt64() > 65535 {
				t.Errorf("network.peer.port = %v", v.Emit())
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		host string
		port int
	}{
		{"127.0.0.1:8080", "127.0.0.1", 8080},
		{"[::1]:443", "::1", 443},
		{"[::1]", "::1", 0},
		{"example.com", "example.com", 0},
		{"example.com:0", "example.com", 0},
		{"example.com:99999", "example.com", 0},
		{"example.com:http", "example.com", 0},
		{"", "", 0},
	} {
		if h, p := splitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHostPort(%q) = %q, %d; want %q, %d", tt.in, h, p, tt.host, tt.port)
		}
	}
}
