package httpctx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

func mwPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
}

// mwReport is what each test service answers: what it saw in its context, and what its
// downstream answered.
type mwReport struct {
	Service     string            `json:"service"`
	TraceID     string            `json:"trace_id"`
	RequestID   string            `json:"request_id"`
	Baggage     string            `json:"baggage"`
	Fields      map[string]string `json:"fields"`
	Down        *mwReport         `json:"down,omitempty"`
	DownHeaders map[string]string `json:"down_headers,omitempty"`
}

type mwService struct {
	name string
	rec  *tracetest.SpanRecorder
	srv  *httptest.Server
}

// mwStart runs one service on 127.0.0.1 with its own tracer provider. It serves GET /hop and,
// when down is set, calls down's /hop through the client Transport first.
func mwStart(t *testing.T, name, down string, opts ...HandlerOption) *mwService {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base := &http.Transport{}
	client := &http.Client{Transport: NewTransport(base, WithTracerProvider(tp), WithPropagator(mwPropagator()))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hop", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		rep := mwReport{
			Service:   name,
			TraceID:   trace.SpanContextFromContext(ctx).TraceID().String(),
			RequestID: otelctx.RequestID(ctx),
			Baggage:   baggage.FromContext(ctx).String(),
			Fields:    map[string]string{},
		}
		for kv := range otelctx.FieldsFrom(ctx).All() {
			rep.Fields[string(kv.Key)] = kv.Value.String()
		}
		if down != "" {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, down+"/hop", nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			rep.Down = new(mwReport)
			if err := json.NewDecoder(resp.Body).Decode(rep.Down); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			rep.DownHeaders = map[string]string{
				"x-trace-id":   resp.Header.Get("x-trace-id"),
				"x-request-id": resp.Header.Get("x-request-id"),
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rep)
	})
	opts = append([]HandlerOption{WithTracerProvider(tp), WithPropagator(mwPropagator()),
		WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {}))}, opts...)
	srv := httptest.NewServer(NewHandler(mux, opts...))
	t.Cleanup(func() {
		srv.Close()
		base.CloseIdleConnections()
	})
	return &mwService{name: name, rec: rec, srv: srv}
}

// mwChain starts C, B and A, where A calls B and B calls C; aOpts configure A.
func mwChain(t *testing.T, aOpts ...HandlerOption) (a, b, c *mwService) {
	c = mwStart(t, "C", "")
	b = mwStart(t, "B", c.srv.URL)
	a = mwStart(t, "A", b.srv.URL, aOpts...)
	return a, b, c
}

// mwCall sends GET /hop to s with the given header fields from a client with no tracing.
func mwCall(t *testing.T, s *mwService, kv ...string) (mwReport, http.Header) {
	t.Helper()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/hop", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var rep mwReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep, resp.Header
}

// mwSpan returns the one ended span of the given kind.
func mwSpan(t *testing.T, s *mwService, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, sp := range s.rec.Ended() {
		if sp.SpanKind() == kind {
			found = append(found, sp)
		}
	}
	if len(found) != 1 {
		t.Fatalf("service %s: %d ended %v spans, want 1", s.name, len(found), kind)
	}
	return found[0]
}

func mwAttr(sp sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// mwCheckChain checks the hop-by-hop shape of one request through A, B and C: one trace, each
// server span the child of the caller's client span, and x-trace-id and x-request-id on every
// response.
func mwCheckChain(t *testing.T, a, b, c *mwService, rep mwReport, hdr http.Header, wantRequestID string) trace.TraceID {
	t.Helper()
	aServer, aClient := mwSpan(t, a, trace.SpanKindServer), mwSpan(t, a, trace.SpanKindClient)
	bServer, bClient := mwSpan(t, b, trace.SpanKindServer), mwSpan(t, b, trace.SpanKindClient)
	cServer := mwSpan(t, c, trace.SpanKindServer)
	tid := aServer.SpanContext().TraceID()
	for _, sp := range []sdktrace.ReadOnlySpan{aClient, bServer, bClient, cServer} {
		if got := sp.SpanContext().TraceID(); got != tid {
			t.Fatalf("span %q has trace %s, want %s", sp.Name(), got, tid)
		}
	}
	for _, hop := range []struct {
		child, parent sdktrace.ReadOnlySpan
		remote        bool
	}{
		{aClient, aServer, false}, {bServer, aClient, true}, {bClient, bServer, false}, {cServer, bClient, true},
	} {
		if got, want := hop.child.Parent().SpanID(), hop.parent.SpanContext().SpanID(); got != want {
			t.Fatalf("%s span %q: parent %s, want %s (%q)", hop.child.SpanKind(), hop.child.Name(), got, want, hop.parent.Name())
		}
		if hop.child.Parent().IsRemote() != hop.remote {
			t.Fatalf("span %q: parent remote = %v", hop.child.Name(), hop.child.Parent().IsRemote())
		}
	}
	if aServer.Name() != "GET /hop" {
		t.Fatalf("server span name %q, want %q", aServer.Name(), "GET /hop")
	}
	if v, _ := mwAttr(cServer, "http.route"); v.AsString() != "/hop" {
		t.Fatalf("http.route = %q", v.AsString())
	}
	// Every response carries the trace and request IDs: A's to the test, B's to A, C's to B.
	responses := []map[string]string{
		{"x-trace-id": hdr.Get("x-trace-id"), "x-request-id": hdr.Get("x-request-id")},
		rep.DownHeaders, rep.Down.DownHeaders,
	}
	for i, h := range responses {
		if h["x-trace-id"] != tid.String() {
			t.Fatalf("response %d: x-trace-id %q, want %s", i, h["x-trace-id"], tid)
		}
		if h["x-request-id"] != wantRequestID {
			t.Fatalf("response %d: x-request-id %q, want %q", i, h["x-request-id"], wantRequestID)
		}
	}
	for r := &rep; r != nil; r = r.Down {
		if r.TraceID != tid.String() || r.RequestID != wantRequestID {
			t.Fatalf("service %s saw trace %s request %q", r.Service, r.TraceID, r.RequestID)
		}
		if r.Fields["http.request.method"] != "GET" || r.Fields["url.path"] != "/hop" {
			t.Fatalf("service %s request store %v", r.Service, r.Fields)
		}
	}
	return tid
}

func TestThreeServicesShareOneTrace(t *testing.T) {
	a, b, c := mwChain(t)
	rep, hdr := mwCall(t, a, "x-request-id", "order-42.retry:1")
	mwCheckChain(t, a, b, c, rep, hdr, "order-42.retry:1")
	if p := mwSpan(t, a, trace.SpanKindServer).Parent(); p.IsValid() {
		t.Fatalf("A's server span has parent %v, want a root", p)
	}
}

func TestThreeServicesContinueIncomingTraceparent(t *testing.T) {
	a, b, c := mwChain(t)
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	rep, hdr := mwCall(t, a, "traceparent", tp, "baggage", "tenant=acme")
	tid := mwCheckChain(t, a, b, c, rep, hdr, rep.RequestID)
	if tid.String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace %s, want the incoming one", tid)
	}
	if p := mwSpan(t, a, trace.SpanKindServer).Parent(); p.SpanID().String() != "00f067aa0ba902b7" || !p.IsRemote() {
		t.Fatalf("A's parent %v, want the incoming span", p)
	}
	if !otelctx.ValidRequestID(rep.RequestID) || len(rep.RequestID) != 32 {
		t.Fatalf("generated request ID %q", rep.RequestID)
	}
	if rep.Down.Down.Baggage != "tenant=acme" {
		t.Fatalf("C saw baggage %q", rep.Down.Down.Baggage)
	}
}

func TestCallerWithOnlyXTraceIDJoinsTheTrace(t *testing.T) {
	const tid = "0af7651916cd43dd8448eb211c80319c"
	tests := []struct {
		name       string
		kv         []string
		wantParent string
	}{
		{"x-trace-id only", []string{"x-trace-id", tid}, ""},
		{"x-trace-id and x-span-id", []string{"x-trace-id", tid, "x-span-id", "b7ad6b7169203331"}, "b7ad6b7169203331"},
		{"invalid traceparent beside it", []string{"traceparent", "00-zz-zz-01", "x-trace-id", tid}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, c := mwChain(t)
			rep, hdr := mwCall(t, a, tt.kv...)
			if got := mwCheckChain(t, a, b, c, rep, hdr, rep.RequestID); got.String() != tid {
				t.Fatalf("trace %s, want %s", got, tid)
			}
			p := mwSpan(t, a, trace.SpanKindServer).Parent()
			if tt.wantParent == "" && p.SpanID().IsValid() {
				t.Fatalf("parent %s, want none", p.SpanID())
			}
			if tt.wantParent != "" && p.SpanID().String() != tt.wantParent {
				t.Fatalf("parent %s, want %s", p.SpanID(), tt.wantParent)
			}
			if !mwSpan(t, a, trace.SpanKindServer).SpanContext().IsSampled() {
				t.Fatal("a trace continued from x-headers must be sampled")
			}
		})
	}
}

func TestTrustBoundaryStartsNewRootAndLinks(t *testing.T) {
	a, b, c := mwChain(t, WithTrustBoundary("tenant"))
	const in = "4bf92f3577b34da6a3ce929d0e0e4736"
	rep, hdr := mwCall(t, a,
		"traceparent", "00-"+in+"-00f067aa0ba902b7-01",
		"tracestate", "congo=t61rcWkgMzE",
		"baggage", "tenant=acme,user=mallory,role=admin",
		"x-request-id", "edge-1")
	if rep.RequestID == "edge-1" || !otelctx.ValidRequestID(rep.RequestID) {
		t.Fatalf("public endpoint runs under request ID %q, want one of its own", rep.RequestID)
	}
	tid := mwCheckChain(t, a, b, c, rep, hdr, rep.RequestID)
	if tid.String() == in {
		t.Fatal("public endpoint adopted the incoming trace")
	}
	server := mwSpan(t, a, trace.SpanKindServer)
	if server.Parent().IsValid() {
		t.Fatalf("public endpoint span has parent %v", server.Parent())
	}
	if server.SpanContext().TraceState().Len() != 0 {
		t.Fatalf("tracestate crossed the boundary: %v", server.SpanContext().TraceState())
	}
	links := server.Links()
	if len(links) != 1 || links[0].SpanContext.TraceID().String() != in ||
		links[0].SpanContext.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("links %+v, want one to the incoming span", links)
	}
	for _, r := range []*mwReport{&rep, rep.Down, rep.Down.Down} {
		if r.Baggage != "tenant=acme" {
			t.Fatalf("service %s saw baggage %q, want only the allowed member", r.Service, r.Baggage)
		}
	}
}

func TestTrustBoundaryFunc(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if baggage.FromContext(r.Context()).Len() != 0 {
			t.Error("baggage crossed the boundary with an empty allowlist")
		}
	}), WithTracerProvider(tp), WithPropagator(mwPropagator()),
		WithTrustBoundaryFunc(func(r *http.Request) bool { return r.URL.Path == "/public" }))
	const tp1 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, path := range []string{"/internal", "/public"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("traceparent", tp1)
		if path == "/public" {
			req.Header.Set("baggage", "user=mallory")
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if spans[0].SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatal("internal request did not continue the trace")
	}
	if spans[1].SpanContext().TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" || len(spans[1].Links()) != 1 {
		t.Fatal("public request adopted the trace or lost the link")
	}
}

func TestHandlerRecordsStatusRouteAndErrors(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantName   string
		wantStatus int
		wantError  bool
		wantRoute  string
	}{
		{"ok", http.MethodGet, "/users/7", "GET /users/{id}", 200, false, "/users/{id}"},
		{"server error", http.MethodPost, "/fail", "POST /fail", 503, true, "/fail"},
		{"not found is not a server error", http.MethodGet, "/missing", "GET", 404, false, ""},
		{"nothing written is 200", http.MethodGet, "/silent", "GET /silent", 200, false, "/silent"},
		{"unknown method", "BREW", "/users/7", "HTTP", 405, false, ""},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hi")) })
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("GET /silent", func(w http.ResponseWriter, r *http.Request) {})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			srv := httptest.NewServer(NewHandler(mux, WithTracerProvider(tp), WithPropagator(mwPropagator())))
			defer srv.Close()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := (&http.Client{Transport: base}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if len(resp.Header.Get("x-trace-id")) != 32 || !otelctx.ValidRequestID(resp.Header.Get("x-request-id")) {
				t.Fatalf("response headers %v", resp.Header)
			}
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			sp := spans[0]
			if sp.Name() != tt.wantName {
				t.Errorf("name %q, want %q", sp.Name(), tt.wantName)
			}
			if v, _ := mwAttr(sp, "http.response.status_code"); v.AsInt64() != int64(tt.wantStatus) {
				t.Errorf("status code attribute %v", v.AsInt64())
			}
			if (sp.Status().Code == codes.Error) != tt.wantError {
				t.Errorf("span status %v, want error %v", sp.Status(), tt.wantError)
			}
			if v, _ := mwAttr(sp, "http.route"); v.AsString() != tt.wantRoute {
				t.Errorf("http.route %q, want %q", v.AsString(), tt.wantRoute)
			}
			if v, _ := mwAttr(sp, "http.request.method"); tt.method == "BREW" && v.AsString() != "_OTHER" {
				t.Errorf("method %q, want _OTHER", v.AsString())
			}
			if sp.SpanKind() != trace.SpanKindServer {
				t.Errorf("kind %v", sp.SpanKind())
			}
		})
	}
}

func TestHandlerSpanNameFormatter(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := NewHandler(http.NotFoundHandler(), WithTracerProvider(tp),
		WithSpanNameFormatter(func(r *http.Request) string { return "custom " + r.URL.Path }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	if got := rec.Ended()[0].Name(); got != "custom /x" {
		t.Fatalf("name %q", got)
	}
}

func TestHandlerPanicIsRecordedAndReraised(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), WithTracerProvider(tp))
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the handler's panic", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Status().Code != codes.Error {
		t.Fatalf("spans %v", spans)
	}
	if len(spans[0].Events()) != 1 || spans[0].Events()[0].Name != "exception" {
		t.Fatalf("events %v", spans[0].Events())
	}
}

func TestHandlerKeepsFlusherAndHijacker(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Error("not a Flusher")
			return
		}
		_, _ = w.Write([]byte("a"))
		f.Flush()
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = bw.Flush()
	})
	// A hijacked handler answers before the middleware ends its span; served tells when it has.
	served := make(chan struct{}, 2)
	h := NewHandler(mux, WithTracerProvider(tp))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	for _, p := range []string{"/flush", "/hijack"} {
		resp, err := (&http.Client{Transport: base}).Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
		<-served
	}
	for _, sp := range rec.Ended() {
		v, has := mwAttr(sp, "http.response.status_code")
		switch sp.Name() {
		case "GET /flush":
			if v.AsInt64() != 200 {
				t.Errorf("flushed response recorded status %v", v.AsInt64())
			}
		case "GET /hijack":
			if has {
				t.Errorf("hijacked connection recorded status %v", v.AsInt64())
			}
		default:
			t.Errorf("unexpected span %q", sp.Name())
		}
	}
	if len(rec.Ended()) != 2 {
		t.Fatalf("%d spans, want 2", len(rec.Ended()))
	}
}

type mwSink struct {
	mu   sync.Mutex
	errs []error
}

func (s *mwSink) sink(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *mwSink) reports() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// TestBadHeaderFloodGivesOneWarning sends a flood of bad headers to a real server: every request
// gets a fresh, valid trace and request ID, and the sink hears once.
func TestBadHeaderFloodGivesOneWarning(t *testing.T) {
	var s mwSink
	l := propagators.NewWarnLimiter(time.Hour, s.sink) // the flood takes well under an hour
	tp := sdktrace.NewTracerProvider()
	srv := httptest.NewServer(NewHandler(http.NotFoundHandler(), WithTracerProvider(tp), WithPropagator(mwPropagator()),
		WithWarnLimiter(l)))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: base}
	const n = 200
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\x80")
		req.Header.Set("x-request-id", "a%0d%0aSet-Cookie:%20x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tid := resp.Header.Get("x-trace-id")
		if len(tid) != 32 || tid == "4bf92f3577b34da6a3ce929d0e0e4736" || seen[tid] {
			t.Fatalf("request %d: x-trace-id %q, want a fresh trace", i, tid)
		}
		seen[tid] = true
		if rid := resp.Header.Get("x-request-id"); !otelctx.ValidRequestID(rid) || strings.Contains(rid, "%") {
			t.Fatalf("request %d: x-request-id %q", i, rid)
		}
	}
	if got := len(s.reports()); got != 1 {
		t.Fatalf("%d warnings for a flood of %d bad requests, want 1", got, n)
	}
	if l.Total() != 2*n {
		t.Fatalf("Total = %d, want %d (two bad headers per request)", l.Total(), 2*n)
	}
}

func TestHandlerWarnsOnEachKindOfBadHeader(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name   string
		kv     []string
		header string // "" means no warning
	}{
		{"clean", []string{"traceparent", tp, "tracestate", "a=1", "baggage", "k=v", "x-request-id", "r"}, ""},
		{"repeated traceparent", []string{"traceparent", tp, "traceparent", tp}, "traceparent"},
		{"invalid traceparent", []string{"traceparent", "00-xyz"}, "traceparent"},
		{"invalid tracestate", []string{"traceparent", tp, "tracestate", "FOO=1"}, "tracestate"},
		{"invalid baggage", []string{"baggage", "=%zz"}, "baggage"},
		{"blank baggage is fine", []string{"baggage", " "}, ""},
		{"invalid x-trace-id", []string{"x-trace-id", "nope"}, "x-trace-id"},
		{"invalid x-span-id", []string{"x-span-id", "nope"}, "x-span-id"},
		{"unsafe x-request-id", []string{"x-request-id", "a b"}, "x-request-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s mwSink
			h := NewHandler(http.NotFoundHandler(), WithTracerProvider(sdktrace.NewTracerProvider()),
				WithPropagator(mwPropagator()), WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, s.sink)))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for i := 0; i+1 < len(tt.kv); i += 2 {
				req.Header.Add(tt.kv[i], tt.kv[i+1])
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			r := s.reports()
			if tt.header == "" {
				if len(r) != 0 {
					t.Fatalf("warned %v", r)
				}
				return
			}
			var hw *propagators.HeaderWarning
			if len(r) != 1 || !errors.As(r[0], &hw) || hw.Header != tt.header {
				t.Fatalf("reports %v, want one about %s", r, tt.header)
			}
		})
	}
}

// mwHostile returns a request full of the bad input the issue lists.
func mwHostile(n int) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/a/%C3%28/b", nil)
	for i := 0; i < n; i++ {
		req.Header.Add("baggage", fmt.Sprintf("k%d=v%%zz,\x80=1", i))
		req.Header.Add("tracestate", "a=1")
	}
	req.Header.Set("traceparent", "00-"+strings.Repeat("a", 8<<10))
	req.Header.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("x-trace-id", strings.Repeat("\x80", 32))
	req.Header.Set("x-request-id", "a\r\nb"+strings.Repeat("x", 9<<10))
	req.Header.Set("User-Agent", strings.Repeat("\xff", 9<<10))
	return req
}

func TestHandlerAllocationsStayBounded(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		WithTracerProvider(tp), WithPropagator(mwPropagator()), WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {})))
	clean := httptest.NewRequest(http.MethodGet, "/a/b", nil)
	clean.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	clean.Header.Set("x-request-id", "req-1")
	w := httptest.NewRecorder()
	measure := func(r *http.Request) float64 {
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	}
	base := measure(clean)
	small, large := measure(mwHostile(10)), measure(mwHostile(1000))
	t.Logf("allocations per request: clean %.0f, hostile(10) %.0f, hostile(1000) %.0f", base, small, large)
	if base > 30 {
		t.Errorf("clean request allocates %.0f times, want at most 30", base)
	}
	if large > small || small > base+4 {
		t.Errorf("hostile requests allocate %.0f (10 fields) and %.0f (1000 fields) against %.0f clean: not bounded",
			small, large, base)
	}
}

// mwUncomparableProvider is a tracer provider whose dynamic type cannot be compared with ==.
type mwUncomparableProvider struct {
	embedded.TracerProvider
	tp   trace.TracerProvider
	tags []string
}

func (p mwUncomparableProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return p.tp.Tracer(name, opts...)
}

func TestHandlerReadsGlobalsPerRequestAndToleratesAnyProvider(t *testing.T) {
	oldTP, oldProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	defer func() {
		otel.SetTracerProvider(oldTP)
		otel.SetTextMapPropagator(oldProp)
	}()
	h := NewHandler(http.NotFoundHandler())
	recs := []*tracetest.SpanRecorder{tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()}
	otel.SetTextMapPropagator(mwPropagator())
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recs[0])))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	otel.SetTracerProvider(mwUncomparableProvider{tp: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recs[1])), tags: []string{"x"}})
	for i := 0; i < 2; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	if len(recs[0].Ended()) != 1 || len(recs[1].Ended()) != 2 {
		t.Fatalf("spans per provider: %d, %d; want 1, 2", len(recs[0].Ended()), len(recs[1].Ended()))
	}
}

func TestBoundedString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "/a/b", "/a/b"},
		{"invalid UTF-8 replaced", "/a\x80b", "/a\uFFFDb"},
		{"cut to the cap", strings.Repeat("a", reqstore.MaxAttrLen+10), strings.Repeat("a", reqstore.MaxAttrLen)},
		{"cut inside a rune", strings.Repeat("a", reqstore.MaxAttrLen-1) + "é", strings.Repeat("a", reqstore.MaxAttrLen-1) + "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reqstore.Bound(tt.in); got != tt.want {
				t.Fatalf("boundedString = %q, want %q", got, tt.want)
			}
		})
	}
}

// A handler that recorded why it failed keeps that description when the middleware then sees
// the 500 it answered.
func TestMiddlewareKeepsHandlersErrorDescription(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace.SpanFromContext(r.Context()).SetStatus(codes.Error, "database down")
		w.WriteHeader(http.StatusInternalServerError)
	}), WithTracerProvider(tp), WithPropagator(propagators.New()))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	if st := spans[0].Status(); st.Code != codes.Error || st.Description != "database down" {
		t.Fatalf("status %+v, want Error with the handler's description", st)
	}
}
