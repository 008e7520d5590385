package httpctx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// Any tracer, not only the SDK's, receives the caller's span context as the trace package's
// own remote parent: trace.SpanFromContext gives the same concrete type that
// trace.ContextWithRemoteSpanContext stores, so a tracer that checks the parent's type (the
// deprecated no-op one does) keeps it (issue 28, goal 6: the probe that answered for the trace
// package's unexported key with a type of its own is gone).
func TestRemoteParentAnyTracer(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9}, Remote: true})
	want := reflect.TypeOf(trace.SpanFromContext(trace.ContextWithRemoteSpanContext(context.Background(), sc)))
	tp := &parentTypeProvider{}
	h := NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		WithTracerProvider(tp), WithPropagator(propagators.New()))
	r := httptest.NewRequest(http.MethodGet, "/cart", nil)
	r.Header.Set("Traceparent", "00-"+rpTraceID+"-"+rpSpanID+"-01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if tp.parent == nil {
		t.Fatal("the tracer was not asked to start a span")
	}
	got := trace.SpanFromContext(tp.parent)
	if reflect.TypeOf(got) != want {
		t.Errorf("the tracer's parent is a %v, want the trace package's %v", reflect.TypeOf(got), want)
	}
	if p := got.SpanContext(); p.TraceID().String() != rpTraceID || p.SpanID().String() != rpSpanID || !p.IsRemote() {
		t.Errorf("the tracer's parent is %v, want the caller's remote span", p)
	}
}

// parentTypeProvider is a tracer provider that is not the SDK's: it keeps the context its
// tracer was asked to start a span in.
type parentTypeProvider struct {
	embedded.TracerProvider
	parent context.Context
}

func (p *parentTypeProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return parentTypeTracer{p: p}
}

type parentTypeTracer struct {
	embedded.Tracer
	p *parentTypeProvider
}

func (t parentTypeTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.p.parent = ctx
	return noop.NewTracerProvider().Tracer("").Start(ctx, name, opts...)
}

const (
	rpTraceID = "0af7651916cd43dd8448eb211c80319c"
	rpSpanID  = "b7ad6b7169203331"
)

// parentRecorder is a span processor that keeps what OnStart saw in the parent context.
type parentRecorder struct {
	mu      sync.Mutex
	parent  trace.SpanContext
	id      string
	fields  int
	started int
}

func (p *parentRecorder) OnStart(parent context.Context, _ sdktrace.ReadWriteSpan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parent = trace.SpanContextFromContext(parent)
	p.id = otelctx.RequestID(parent)
	p.fields = otelctx.FieldsFrom(parent).Len()
	p.started++
}
func (*parentRecorder) OnEnd(sdktrace.ReadOnlySpan)      {}
func (*parentRecorder) Shutdown(context.Context) error   { return nil }
func (*parentRecorder) ForceFlush(context.Context) error { return nil }
func (p *parentRecorder) seen() (trace.SpanContext, string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parent, p.id, p.fields
}

// The server span's parent is the caller's span, whichever header named it, and the parent
// context a processor sees holds it with the request ID and the store already settled.
func TestRemoteParentSDK(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hdr      map[string]string
		wantSpan string // "" when the header named only the trace
		sampled  bool
	}{
		{"traceparent", map[string]string{"Traceparent": "00-" + rpTraceID + "-" + rpSpanID + "-01", "Tracestate": "vendor=1"}, rpSpanID, true},
		{"traceparent unsampled", map[string]string{"Traceparent": "00-" + rpTraceID + "-" + rpSpanID + "-00"}, rpSpanID, false},
		{"x-headers", map[string]string{"X-Trace-Id": rpTraceID, "X-Span-Id": rpSpanID}, rpSpanID, true},
		{"x-trace-id alone", map[string]string{"X-Trace-Id": rpTraceID}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, procs := tracetest.NewSpanRecorder(), &parentRecorder{}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSpanProcessor(procs))
			var inHandler trace.SpanContext
			h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inHandler = trace.SpanContextFromContext(r.Context())
			}), WithTracerProvider(tp), WithPropagator(propagators.New()))
			r := httptest.NewRequest(http.MethodGet, "/cart", nil)
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			r.Header.Set("X-Request-Id", "req-7")
			h.ServeHTTP(httptest.NewRecorder(), r)

			spans := rec.Ended()
			if !tc.sampled {
				if len(spans) != 0 || inHandler.TraceID().String() != rpTraceID || inHandler.IsSampled() {
					t.Fatalf("unsampled parent: %d spans recorded, handler's span context %v", len(spans), inHandler)
				}
				return
			}
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.SpanContext().TraceID().String() != rpTraceID || s.Parent().SpanID().String() != orZero(tc.wantSpan) ||
				!s.Parent().IsRemote() || !s.SpanContext().Equal(inHandler) {
				t.Fatalf("span %v with parent %v; handler saw %v", s.SpanContext(), s.Parent(), inHandler)
			}
			if v, ok := tc.hdr["Tracestate"]; ok && s.SpanContext().TraceState().String() != v {
				t.Fatalf("tracestate %q, want %q", s.SpanContext().TraceState(), v)
			}
			parent, id, fields := procs.seen()
			if parent.TraceID().String() != rpTraceID || parent.SpanID().String() != orZero(tc.wantSpan) || id != "req-7" || fields != 2 {
				t.Fatalf("OnStart's parent context: span %v, request ID %q, %d fields", parent, id, fields)
			}
		})
	}
}

func orZero(spanID string) string {
	if spanID == "" {
		return trace.SpanID{}.String()
	}
	return spanID
}

// Without an SDK the trace still passes through: a call made inside the handler carries the
// caller's trace ID on, under the no-op providers, the deprecated one included (it keeps only
// the trace package's own parent wrapper, so NewHandler gives it that).
func TestRemoteParentWithoutSDK(t *testing.T) {
	for name, tp := range map[string]trace.TracerProvider{
		"noop":            noop.NewTracerProvider(),
		"deprecated noop": trace.NewNoopTracerProvider(), //nolint:staticcheck // what a user may still pass
	} {
		t.Run(name, func(t *testing.T) {
			var sent http.Header
			client := &http.Client{Transport: NewTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = r.Header.Clone()
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
			}), WithTracerProvider(tp), WithPropagator(propagators.New()))}
			h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://127.0.0.1:1/next", nil)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}), WithTracerProvider(tp), WithPropagator(propagators.New()))
			r := httptest.NewRequest(http.MethodGet, "/cart", nil)
			r.Header.Set("Traceparent", "00-"+rpTraceID+"-"+rpSpanID+"-01")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := sent.Get("Traceparent"); len(got) != 55 || got[3:35] != rpTraceID {
				t.Fatalf("downstream traceparent %q, want trace %s", got, rpTraceID)
			}
			if got := w.Header().Get("X-Trace-Id"); got != rpTraceID {
				t.Fatalf("x-trace-id %q, want %s", got, rpTraceID)
			}
		})
	}
}

// A trust boundary starts a new trace linked to the caller's, and the caller's request ID is on
// the span from its start.
func TestRemoteParentPublic(t *testing.T) {
	rec, procs, start := tracetest.NewSpanRecorder(), &parentRecorder{}, &startAttrs{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSpanProcessor(procs),
		sdktrace.WithSpanProcessor(start))
	h := NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		WithTracerProvider(tp), WithPropagator(propagators.New()), WithTrustBoundary())
	r := httptest.NewRequest(http.MethodGet, "/cart", nil)
	r.Header.Set("Traceparent", "00-"+rpTraceID+"-"+rpSpanID+"-01")
	r.Header.Set("X-Request-Id", "theirs-1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() == rpTraceID || s.Parent().IsValid() {
		t.Fatalf("public endpoint kept the caller's trace: %v, parent %v", s.SpanContext(), s.Parent())
	}
	if len(s.Links()) != 1 || s.Links()[0].SpanContext.TraceID().String() != rpTraceID {
		t.Fatalf("links %v", s.Links())
	}
	if !hasAttr(s.Attributes(), attribute.String(otelctx.AttrCallerRequestID, "theirs-1")) {
		t.Fatalf("attributes %v lack the caller's request ID", s.Attributes())
	}
	if !start.keys[otelctx.AttrCallerRequestID] {
		t.Errorf("the caller's request ID is not a start attribute (start had %v)", start.keys)
	}
	if _, id, _ := procs.seen(); id == "" || id == "theirs-1" {
		t.Fatalf("OnStart's parent context has request ID %q, want a new one", id)
	}
}

func hasAttr(kvs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, kv := range kvs {
		if kv == want {
			return true
		}
	}
	return false
}
