package httpctx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// tsEcho answers with the trace headers it received, one "name: value" per line.
func tsEcho(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		for _, k := range []string{"traceparent", "baggage", "x-trace-id", "x-span-id", "x-request-id", "x-caller"} {
			for _, v := range r.Header.Values(k) {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func tsAttr(sp sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestTransportStartsClientSpanAndInjects(t *testing.T) {
	srv := tsEcho(t, http.StatusOK)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpctx.NewTransport(base, httpctx.WithTracerProvider(tp), httpctx.WithPropagator(xtComposite()))}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	ctx = otelctx.WithRequestID(ctx, "req-9")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/items?token=secret", nil)
	req.Header.Set("x-caller", "kept")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parent.End()

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	client0 := spans[0]
	if client0.SpanKind() != trace.SpanKindClient || client0.Name() != "GET" {
		t.Fatalf("span %q kind %v", client0.Name(), client0.SpanKind())
	}
	if client0.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatal("client span is not the child of the caller's span")
	}
	sc := client0.SpanContext()
	want := []string{
		"traceparent: 00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01",
		"x-trace-id: " + sc.TraceID().String(),
		"x-span-id: " + sc.SpanID().String(),
		"x-request-id: req-9",
		"x-caller: kept",
	}
	for _, line := range want {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("server did not receive %q; got\n%s", line, body)
		}
	}
	if got := tsAttr(client0, "url.full").AsString(); got != srv.URL+"/items" {
		t.Errorf("url.full %q, want no query", got)
	}
	if got := tsAttr(client0, "http.response.status_code").AsInt64(); got != 200 {
		t.Errorf("status code %d", got)
	}
	if got := tsAttr(client0, "server.port").AsInt64(); got == 0 {
		t.Error("no server.port")
	}
	if req.Header.Get("traceparent") != "" || len(req.Header) != 1 {
		t.Fatalf("caller's request was modified: %v", req.Header)
	}
}

// TestTransportForwardsRequestIDWithAnyPropagator: the request ID goes out even when the
// propagator knows nothing of x-headers, and an unsafe one never does.
func TestTransportForwardsRequestIDWithAnyPropagator(t *testing.T) {
	srv := tsEcho(t, http.StatusOK)
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpctx.NewTransport(base,
		httpctx.WithTracerProvider(sdktrace.NewTracerProvider()), httpctx.WithPropagator(propagation.TraceContext{}))}
	tests := []struct {
		name, id, want string
	}{
		{"safe", "abc-1", "x-request-id: abc-1\n"},
		{"unsafe", "abc\r\nx-evil: 1", ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(otelctx.WithRequestID(context.Background(), tt.id), http.MethodGet, srv.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := string(body)
			if tt.want != "" && !strings.Contains(got, tt.want) || tt.want == "" && strings.Contains(got, "x-request-id") {
				t.Fatalf("server received\n%s\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTransportMarksErrors(t *testing.T) {
	notFound := tsEcho(t, http.StatusNotFound)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name      string
		url       string
		wantErr   bool
		wantType  string
		wantError bool
	}{
		{"4xx", notFound.URL, false, "404", true},
		{"connection refused", closedURL, true, "_OTHER", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			rt := httpctx.NewTransport(base, httpctx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
			req, _ := http.NewRequest(http.MethodPost, tt.url, strings.NewReader("x"))
			resp, err := rt.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			sp := rec.Ended()[0]
			if (sp.Status().Code == codes.Error) != tt.wantError {
				t.Fatalf("status %v", sp.Status())
			}
			if got := tsAttr(sp, "error.type").AsString(); got != tt.wantType {
				t.Fatalf("error.type %q, want %q", got, tt.wantType)
			}
		})
	}
}

func TestTransportCanceledContext(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	rt := httpctx.NewTransport(base, httpctx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tsEcho(t, 200).URL, nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if got := tsAttr(rec.Ended()[0], "error.type").AsString(); got != "canceled" {
		t.Fatalf("error.type %q", got)
	}
}

// TestMiddlewareWithInstalledProvider wires the middleware to what Install returns: its default
// composite carries x-trace-id, so a caller that knows only that joins the trace.
func TestMiddlewareWithInstalledProvider(t *testing.T) {
	t.Setenv("OTEL_PROPAGATORS", "")
	t.Setenv("OTEL_SDK_DISABLED", "")
	rec := tracetest.NewSpanRecorder()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithSpanProcessor(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	h := httpctx.Middleware(httpctx.WithProvider(p))(http.NotFoundHandler())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("x-trace-id", xtTraceID)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].SpanContext().TraceID().String() != xtTraceID {
		t.Fatalf("spans %v, want one in trace %s", spans, xtTraceID)
	}
	if got := w.Header().Get("x-trace-id"); got != xtTraceID {
		t.Fatalf("x-trace-id %q", got)
	}
}

// The client span lasts until the response body is finished with: EOF, Close, or a read error.
func TestTransportEndsSpanWithTheBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	for _, tt := range []struct {
		name   string
		finish func(t *testing.T, body io.ReadCloser)
	}{
		{"read to EOF", func(t *testing.T, body io.ReadCloser) {
			if n, err := io.Copy(io.Discard, body); err != nil || n != 100 {
				t.Fatalf("read %d bytes, %v", n, err)
			}
		}},
		{"closed unread", func(t *testing.T, body io.ReadCloser) { body.Close() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			client := &http.Client{Transport: httpctx.NewTransport(base, httpctx.WithTracerProvider(tp))}
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rec.Ended()); n != 0 {
				t.Fatalf("%d spans ended before the body was read", n)
			}
			tt.finish(t, resp.Body)
			resp.Body.Close() // a second end must not end the span twice
			if n := len(rec.Ended()); n != 1 {
				t.Fatalf("%d spans ended after the body, want 1", n)
			}
		})
	}
}
