package ctxtrail

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// outgoingIDs reads the trace ID, span ID and sampled flag ("1" or "0") one propagator wrote.
type outgoingIDs func(h http.Header) (tid, sid, sampled string)

func b3SingleIDs(h http.Header) (string, string, string) {
	parts := strings.Split(h.Get("B3"), "-")
	if len(parts) < 3 {
		return "", "", ""
	}
	return parts[0], parts[1], parts[2]
}

func b3MultiIDs(h http.Header) (string, string, string) {
	return h.Get("X-B3-Traceid"), h.Get("X-B3-Spanid"), h.Get("X-B3-Sampled")
}

func jaegerIDs(h http.Header) (string, string, string) {
	parts := strings.Split(h.Get("Uber-Trace-Id"), ":")
	if len(parts) != 4 {
		return "", "", ""
	}
	return parts[0], parts[1], parts[3]
}

func traceparentIDs(h http.Header) (string, string, string) {
	tp := h.Get("Traceparent")
	if len(tp) != 55 {
		return "", "", ""
	}
	sampled := "0"
	if tp[54] == '1' {
		sampled = "1"
	}
	return tp[3:35], tp[36:52], sampled
}

// OTEL_PROPAGATORS=b3, b3multi and jaeger work both ways through a service built with Install:
// a real server (NewHandler) continues the trace a caller sent in B3 or uber-trace-id headers,
// and its outgoing call (Transport) carries the same headers for the client span, with the
// x-headers beside them when xtrace is named, and the request ID always. A B3 or Jaeger "not
// sampled" is kept even when x-headers (which carry no flags) name the same trace.
func TestInstallB3AndJaegerPropagators(t *testing.T) {
	const (
		tid = "4bf92f3577b34da6a3ce929d0e0e4736"
		sid = "00f067aa0ba902b7"
	)
	tests := []struct {
		name    string
		env     string
		in      map[string]string
		sampled bool
		out     []outgoingIDs // every trace header the outgoing call must carry, each naming the client span
		xtrace  bool          // x-trace-id and x-span-id go out too
		absent  []string      // headers that must not go out
	}{
		{name: "b3", env: "b3,xtrace", in: map[string]string{"b3": tid + "-" + sid + "-1"}, sampled: true,
			out: []outgoingIDs{b3SingleIDs}, xtrace: true, absent: []string{"X-B3-Traceid", "Traceparent"}},
		{name: "b3 reads multi headers", env: "b3,xtrace",
			in:      map[string]string{"X-B3-TraceId": tid, "X-B3-SpanId": sid, "X-B3-Sampled": "1"},
			sampled: true, out: []outgoingIDs{b3SingleIDs}, xtrace: true},
		{name: "b3multi", env: "b3multi,xtrace",
			in:      map[string]string{"X-B3-TraceId": tid, "X-B3-SpanId": sid, "X-B3-Sampled": "1"},
			sampled: true, out: []outgoingIDs{b3MultiIDs}, xtrace: true, absent: []string{"B3", "Traceparent"}},
		{name: "b3multi reads the single header", env: "xtrace,b3multi", in: map[string]string{"b3": tid + "-" + sid + "-1"},
			sampled: true, out: []outgoingIDs{b3MultiIDs}, xtrace: true},
		{name: "jaeger", env: "jaeger,xtrace", in: map[string]string{"uber-trace-id": tid + ":" + sid + ":0:1"},
			sampled: true, out: []outgoingIDs{jaegerIDs}, xtrace: true, absent: []string{"Traceparent", "B3"}},
		{name: "tracecontext, baggage and b3", env: "tracecontext,baggage,b3,xtrace",
			in: map[string]string{"b3": tid + "-" + sid + "-1"}, sampled: true,
			out: []outgoingIDs{traceparentIDs, b3SingleIDs}, xtrace: true},
		{name: "b3 not sampled wins over the x-headers", env: "xtrace,b3",
			in:  map[string]string{"b3": tid + "-" + sid + "-0", "X-Trace-Id": tid, "X-Span-Id": sid},
			out: []outgoingIDs{b3SingleIDs}, xtrace: true},
		{name: "jaeger not sampled wins over the x-headers", env: "jaeger,xtrace",
			in:  map[string]string{"uber-trace-id": tid + ":" + sid + ":0:0", "X-Trace-Id": tid, "X-Span-Id": sid},
			out: []outgoingIDs{jaegerIDs}, xtrace: true},
		{name: "b3 alone still forwards the request ID", env: "b3", in: map[string]string{"b3": tid + "-" + sid + "-1"},
			sampled: true, out: []outgoingIDs{b3SingleIDs}, absent: []string{"X-Trace-Id", "X-Span-Id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_PROPAGATORS", tt.env)
			mem := tracetest.NewInMemoryExporter()
			p := install(t, WithExporter(mem), WithServiceName("front"))

			var (
				mu   sync.Mutex
				sent http.Header
			)
			downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				sent = r.Header.Clone()
				mu.Unlock()
			}))
			defer downstream.Close()
			client := &http.Client{Transport: httpctx.NewTransport(nil, httpctx.WithProvider(p))}
			defer client.CloseIdleConnections()
			front := httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, downstream.URL, http.NoBody)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				_ = resp.Body.Close()
			}), httpctx.WithProvider(p)))
			defer front.Close()

			req, err := http.NewRequest(http.MethodGet, front.URL+"/orders", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.in {
				req.Header.Set(k, v)
			}
			reqID := "req-" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
			req.Header.Set(propagators.HeaderRequestID, reqID)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			http.DefaultClient.CloseIdleConnections()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("front answered %d", resp.StatusCode)
			}
			if err := p.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}

			spans := mem.GetSpans()
			var server, clientSpan *tracetest.SpanStub
			for i := range spans {
				switch spans[i].SpanKind {
				case trace.SpanKindServer:
					server = &spans[i]
				case trace.SpanKindClient:
					clientSpan = &spans[i]
				}
			}
			wantSampled := "0"
			if tt.sampled {
				wantSampled = "1"
				if server == nil || clientSpan == nil {
					t.Fatalf("spans exported: %v, want a server and a client span", names(spans))
				}
				if got := server.SpanContext.TraceID().String(); got != tid {
					t.Errorf("server span in trace %s, want the caller's %s", got, tid)
				}
				if got := server.Parent.SpanID().String(); got != sid || !server.Parent.IsRemote() {
					t.Errorf("server span's parent %s (remote %v), want the caller's %s", got, server.Parent.IsRemote(), sid)
				}
			} else if len(spans) > 0 {
				t.Errorf("the caller said not sampled, yet %v were exported", names(spans))
			}

			mu.Lock()
			h := sent
			mu.Unlock()
			if h == nil {
				t.Fatal("the downstream call never arrived")
			}
			var clientSID string
			if clientSpan != nil {
				clientSID = clientSpan.SpanContext.SpanID().String()
			}
			for i, ids := range tt.out {
				gotTID, gotSID, gotSampled := ids(h)
				if gotTID != tid || gotSampled != wantSampled {
					t.Errorf("outgoing header %d: trace %q sampled %q, want %q %q; headers %v", i, gotTID, gotSampled, tid, wantSampled, h)
				}
				if clientSID != "" && gotSID != clientSID {
					t.Errorf("outgoing header %d: span %q, want the client span %q", i, gotSID, clientSID)
				}
				if clientSID == "" {
					clientSID = gotSID
				}
			}
			if tt.xtrace {
				if got := h.Get(propagators.HeaderTraceID); got != tid {
					t.Errorf("x-trace-id %q, want %q", got, tid)
				}
				if got := h.Get(propagators.HeaderSpanID); got != clientSID {
					t.Errorf("x-span-id %q, want the client span %q", got, clientSID)
				}
			}
			if got := h.Get(propagators.HeaderRequestID); got != reqID {
				t.Errorf("x-request-id %q, want the caller's %q", got, reqID)
			}
			for _, k := range tt.absent {
				if v, ok := h[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("header %s: %q went out, want none", k, v)
				}
			}
		})
	}
}

// Fields lists what each named propagator writes, each once.
func TestInstallPropagatorFields(t *testing.T) {
	tests := []struct {
		env  string
		want []string
	}{
		{"b3", []string{"b3"}},
		{"b3multi", []string{"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags"}},
		{"jaeger", []string{"uber-trace-id"}},
		{"jaeger,xtrace,jaeger", []string{"uber-trace-id", "x-trace-id", "x-span-id", "x-request-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_PROPAGATORS", tt.env)
			p := install(t, WithoutExporter())
			got := p.Propagator().Fields() // the SDK's composite returns them in map order
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Fields() = %q, want %q", got, tt.want)
			}
		})
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

var _ sdktrace.SpanExporter = (*tracetest.InMemoryExporter)(nil)

// WithPropagation wins over OTEL_PROPAGATORS.
func TestInstallWithPropagationWinsOverEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_PROPAGATORS", "b3")
	p := install(t, WithoutExporter(), WithPropagation(propagation.TraceContext{}))
	got := p.Propagator().Fields()
	slices.Sort(got)
	if want := []string{"traceparent", "tracestate"}; !slices.Equal(got, want) {
		t.Errorf("Fields() = %q, want %q", got, want)
	}
}
