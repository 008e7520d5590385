package httpattrs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serverSpan serves one request through wrap(mux) on loopback and returns the server span.
func serverSpan(t *testing.T, wrap func(http.Handler, trace.TracerProvider) http.Handler, method, body string) sdktrace.ReadOnlySpan {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "user "+r.PathValue("id"))
	})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := httptest.NewServer(wrap(mux, tp))
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+"/users/7?q=1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "attrs-test/1")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	srv.Close() // the handler has returned, so the span has ended
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			return s
		}
	}
	t.Fatal("no server span")
	return nil
}

func keys(attrs []attribute.KeyValue) []string {
	var ks []string
	for _, kv := range attrs {
		ks = append(ks, string(kv.Key))
	}
	slices.Sort(ks)
	return ks
}

// TestServerSpanKeysCoverOtelhttp: for the same request, every attribute key otelhttp puts on
// its server span is on ctxtrail's too, with the same value where the two can agree.
func TestServerSpanKeysCoverOtelhttp(t *testing.T) {
	ctxtrail := func(h http.Handler, tp trace.TracerProvider) http.Handler {
		return httpctx.NewHandler(h, httpctx.WithTracerProvider(tp), httpctx.WithPropagator(propagators.New()))
	}
	rival := func(h http.Handler, tp trace.TracerProvider) http.Handler {
		return otelhttp.NewHandler(h, "server", otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.TraceContext{}))
	}
	for _, tt := range []struct{ method, body string }{
		{http.MethodGet, ""},
		{http.MethodPost, "eleven byte"},
	} {
		t.Run(tt.method, func(t *testing.T) {
			ours, theirs := serverSpan(t, ctxtrail, tt.method, tt.body), serverSpan(t, rival, tt.method, tt.body)
			oursKeys, theirKeys := keys(ours.Attributes()), keys(theirs.Attributes())
			t.Logf("otelhttp: %v", theirKeys)
			t.Logf("ctxtrail: %v", oursKeys)
			for _, k := range theirKeys {
				if !slices.Contains(oursKeys, k) {
					t.Errorf("otelhttp sets %s, ctxtrail does not", k)
				}
			}
			// Values that depend only on the request, not on the port each server got.
			for _, k := range []attribute.Key{"http.request.method", "url.path", "url.scheme", "client.address",
				"user_agent.original", "network.protocol.version", "network.peer.address", "server.address",
				"http.response.status_code", "http.request.body.size", "http.response.body.size"} {
				a, aok := value(ours.Attributes(), k)
				b, bok := value(theirs.Attributes(), k)
				if aok != bok || a.Emit() != b.Emit() {
					t.Errorf("%s: ctxtrail %q (%v), otelhttp %q (%v)", k, a.Emit(), aok, b.Emit(), bok)
				}
			}
		})
	}
}

func value(attrs []attribute.KeyValue, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range attrs {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}
