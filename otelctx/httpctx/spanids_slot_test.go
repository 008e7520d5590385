package httpctx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/slogbridge"
)

// slotHookProvider starts spans with the SDK and hands them out wrapped, so that a test runs code
// when a log bridge asks the server span for its parent: the bridge does that while it fills the
// request node's ID slot, after the binary IDs and before the hex strings.
type slotHookProvider struct {
	embedded.TracerProvider
	tp   *sdktrace.TracerProvider
	hook func()
}

func (p *slotHookProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return slotHookTracer{t: p.tp.Tracer(name, opts...), hook: p.hook}
}

type slotHookTracer struct {
	embedded.Tracer
	t    trace.Tracer
	hook func()
}

func (t slotHookTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, s := t.t.Start(ctx, name, opts...)
	rw, ok := s.(sdktrace.ReadWriteSpan)
	if !ok {
		return ctx, s
	}
	w := slotHookSpan{ReadWriteSpan: rw, hook: t.hook}
	return trace.ContextWithSpan(ctx, w), w
}

type slotHookSpan struct {
	sdktrace.ReadWriteSpan
	hook func()
}

func (s slotHookSpan) Parent() trace.SpanContext {
	s.hook()
	return s.ReadWriteSpan.Parent()
}

// slotLogBuffer collects JSON log lines written from several goroutines.
type slotLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *slotLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *slotLogBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// TestSpanIDsSlotFilledBeforeOtherLinesSeeIt: two lines of one request logged at once through
// slogbridge both carry the server span's trace, span and parent IDs. The second line is logged
// from another goroutine at a fixed point while the first is filling the request node's ID slot,
// so a slot marked ready before it is filled hands it empty IDs on every run, with or without
// -race (internal/spanids tests the slot itself).
func TestSpanIDsSlotFilledBeforeOtherLinesSeeIt(t *testing.T) {
	var out slotLogBuffer
	logger := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(&out, nil), slogbridge.WithParentSpanIDKey(slogbridge.DefaultParentSpanIDKey)))

	var reqCtx context.Context // the handler's, set before its first line
	var hooked atomic.Bool
	hook := func() {
		if reqCtx == nil || !hooked.CompareAndSwap(false, true) {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			logger.InfoContext(reqCtx, "second line")
		}()
		<-done
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqCtx = r.Context()
		logger.InfoContext(r.Context(), "first line")
	}), httpctx.WithTracerProvider(&slotHookProvider{tp: tp, hook: hook}), httpctx.WithPropagator(propagation.TraceContext{}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if !hooked.Load() {
		t.Fatal("the bridge never asked the server span for its parent: the second line was not logged")
	}
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended, want the server span", len(ended))
	}
	spanID := ended[0].SpanContext().SpanID().String()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	n := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		n++
		if line[slogbridge.DefaultTraceIDKey] != traceID || line[slogbridge.DefaultSpanIDKey] != spanID || line[slogbridge.DefaultParentSpanIDKey] != parentID {
			t.Errorf("%q: trace_id %v span_id %v parent_span_id %v, want %s %s %s", line["msg"],
				line[slogbridge.DefaultTraceIDKey], line[slogbridge.DefaultSpanIDKey], line[slogbridge.DefaultParentSpanIDKey],
				traceID, spanID, parentID)
		}
	}
	if n != 2 {
		t.Fatalf("%d lines logged, want 2:\n%s", n, out.Bytes())
	}
}
