package httpctx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// startAttrs keeps the attribute keys a span had when OnStart saw it.
type startAttrs struct {
	mu   sync.Mutex
	keys map[attribute.Key]bool
}

func (p *startAttrs) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = map[attribute.Key]bool{}
	for _, kv := range s.Attributes() {
		p.keys[kv.Key] = true
	}
}
func (*startAttrs) OnEnd(sdktrace.ReadOnlySpan)      {}
func (*startAttrs) Shutdown(context.Context) error   { return nil }
func (*startAttrs) ForceFlush(context.Context) error { return nil }

// The attributes the HTTP conventions call relevant to sampling are on the server span when it
// starts; the connection's peer and protocol version join at the end, with the
// status.
func TestServerStartAttributes(t *testing.T) {
	rec, start := tracetest.NewSpanRecorder(), &startAttrs{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(start), sdktrace.WithSpanProcessor(rec))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cart/{id}", func(http.ResponseWriter, *http.Request) {})
	h := NewHandler(mux, WithTracerProvider(tp))
	r := httptest.NewRequest(http.MethodGet, "http://shop.example:8080/cart/7", nil)
	r.RemoteAddr = "10.0.0.9:50000"
	r.Header.Set("User-Agent", "test/1")
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	h.ServeHTTP(httptest.NewRecorder(), r)

	atStart := []attribute.Key{"http.request.method", "url.path", "url.scheme", "server.address",
		"server.port", "client.address", "user_agent.original",
		"http.route"} // NewHandler looks up the pattern of the ServeMux it wraps before it serves
	atEnd := []attribute.Key{"network.peer.address", "network.peer.port", "network.protocol.version",
		"http.response.status_code", otelctx.AttrRequestID}
	start.mu.Lock()
	defer start.mu.Unlock()
	for _, k := range atStart {
		if !start.keys[k] {
			t.Errorf("%s missing at span start (had %v)", k, start.keys)
		}
	}
	for _, k := range atEnd {
		if start.keys[k] {
			t.Errorf("%s already at span start: it belongs with the end attributes", k)
		}
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range spans[0].Attributes() {
		got[kv.Key] = kv.Value
	}
	for _, k := range append(atStart, atEnd...) {
		if _, ok := got[k]; !ok {
			t.Errorf("%s missing from the ended span", k)
		}
	}
	if got["client.address"].AsString() != "203.0.113.5" || got["network.peer.address"].AsString() != "10.0.0.9" ||
		got["network.peer.port"].AsInt64() != 50000 || got["server.port"].AsInt64() != 8080 {
		t.Errorf("attributes %v", got)
	}
}
