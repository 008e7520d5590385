package httpctx

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Issue 31: a request whose trace the head sampler drops still carries its context. These
// guards hold the unsampled path's own allocations (the SDK's non-recording spans included);
// lower a limit when a change earns it.
const (
	maxServerAllocsUnsampled    = 8 // one unsampled request through NewHandler: the SDK's 5 (remote parent, span, its context, start attributes), the node, r.WithContext, the echo's header map
	maxTransportAllocsUnsampled = 8 // one unsampled call through Transport: the SDK's 3, r.WithContext, the cloned headers (map and its entries), their values, the test's response (9 before issue 31: the body wrapper)
)

// TestUnsampledRequestPropagates sends requests the head sampler drops through a front service
// (NewHandler, NewTransport) to a downstream one, both on 127.0.0.1: no span is exported, yet
// the downstream service gets traceparent (sampled flag 0) with the client span's ID, x-trace-id,
// x-span-id and the request ID, both responses echo x-request-id and x-trace-id, and every zap
// and slog line in either service carries the trace ID and the ID of the span it was logged in.
func TestUnsampledRequestPropagates(t *testing.T) {
	const inTrace, inSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name        string
		traceparent string
		sampler     sdktrace.Sampler
	}{
		{"not-sampled traceparent", "00-" + inTrace + "-" + inSpan + "-00", sdktrace.ParentBased(sdktrace.AlwaysSample())},
		{"sampled traceparent, ratio 0", "00-" + inTrace + "-" + inSpan + "-01", sdktrace.TraceIDRatioBased(0)},
		{"no traceparent, parent-based ratio 0", "", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tt.sampler), sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			opts := []HTTPOption{WithTracerProvider(tp), WithPropagator(propagators.New())}
			var zlines, slines syncBuffer
			zl := zapbridge.New(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
				zapcore.AddSync(&zlines), zapcore.InfoLevel)))
			sl := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(&slines, nil)))
			logBoth := func(ctx context.Context, msg string) {
				zl.Ctx(ctx).Info(msg)
				sl.InfoContext(ctx, msg)
			}

			var downHeader http.Header
			var downSC, frontSC trace.SpanContext
			var frontID string
			down := httptest.NewServer(NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				downHeader, downSC = r.Header.Clone(), trace.SpanContextFromContext(r.Context())
				logBoth(r.Context(), "downstream")
				_, _ = io.WriteString(w, otelctx.RequestID(r.Context()))
			}), WithTracerProvider(tp), WithPropagator(propagators.New())))
			defer down.Close()
			base, outer := &http.Transport{}, &http.Transport{} // closed here, not left to DefaultTransport
			defer base.CloseIdleConnections()
			defer outer.CloseIdleConnections()
			client := &http.Client{Transport: NewTransport(base, opts[0], opts[1])}
			var downResp http.Header
			front := httptest.NewServer(NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				frontSC, frontID = trace.SpanContextFromContext(r.Context()), otelctx.RequestID(r.Context())
				logBoth(r.Context(), "front")
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, down.URL+"/stock", nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				downResp = resp.Header
				logBoth(r.Context(), "front after "+string(b))
			}), WithTracerProvider(tp), WithPropagator(propagators.New())))
			defer front.Close()

			req, _ := http.NewRequest(http.MethodGet, front.URL+"/cart", nil)
			if tt.traceparent != "" {
				req.Header.Set("Traceparent", tt.traceparent)
			}
			req.Header.Set("X-Request-Id", "req-31")
			resp, err := (&http.Client{Transport: outer}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			if n := len(exp.GetSpans()); n != 0 {
				t.Errorf("%d spans exported, want none", n)
			}
			tid := frontSC.TraceID().String()
			if !frontSC.IsValid() || frontSC.IsSampled() || (tt.traceparent != "" && tid != inTrace) {
				t.Fatalf("front span context %v, want a valid unsampled one (trace %s)", frontSC, inTrace)
			}
			if frontID != "req-31" {
				t.Errorf("front request ID %q, want the caller's req-31", frontID)
			}
			tpHdr := downHeader["Traceparent"]
			parts := strings.Split(strings.Join(tpHdr, ","), "-")
			if len(parts) != 4 || parts[0] != "00" || parts[1] != tid || parts[3] != "00" {
				t.Fatalf("downstream got traceparent %q, want version 00, trace %s, flags 00", tpHdr, tid)
			}
			if parts[2] == frontSC.SpanID().String() || parts[2] == inSpan {
				t.Errorf("traceparent's parent %s is not the client span's own ID", parts[2])
			}
			for h, want := range map[string]string{"X-Trace-Id": tid, "X-Span-Id": parts[2], "X-Request-Id": "req-31"} {
				if got := downHeader.Get(h); got != want {
					t.Errorf("downstream got %s %q, want %q", h, got, want)
				}
			}
			if downSC.TraceID() != frontSC.TraceID() || downSC.IsSampled() || downSC.SpanID().String() == parts[2] {
				t.Errorf("downstream span context %v: want trace %s, unsampled, a span of its own", downSC, tid)
			}
			for name, h := range map[string]http.Header{"front": resp.Header, "downstream": downResp} {
				if h.Get("X-Request-Id") != "req-31" || h.Get("X-Trace-Id") != tid {
					t.Errorf("%s response echoed x-request-id %q and x-trace-id %q, want req-31 and %s",
						name, h.Get("X-Request-Id"), h.Get("X-Trace-Id"), tid)
				}
			}
			wantSpan := map[string]string{"front": frontSC.SpanID().String(), "downstream": downSC.SpanID().String()}
			for bridge, buf := range map[string]*syncBuffer{"zap": &zlines, "slog": &slines} {
				lines := buf.lines(t)
				if len(lines) != 3 {
					t.Fatalf("%s: %d lines, want 3", bridge, len(lines))
				}
				for _, l := range lines {
					msg, _ := l["msg"].(string)
					svc, _, _ := strings.Cut(msg, " ")
					if l["trace_id"] != tid || l["span_id"] != wantSpan[svc] || l["request_id"] != "req-31" {
						t.Errorf("%s line %v: want trace_id %s, span_id %s, request_id req-31", bridge, l, tid, wantSpan[svc])
					}
				}
			}
		})
	}
}

// syncBuffer collects JSON lines from concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func unsampledTracerProvider(t *testing.T) *sdktrace.TracerProvider {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))),
		sdktrace.WithSpanProcessor(dropProcessor{}))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// TestAllocServerRequestUnsampled is TestAllocServerRequest with a not-sampled traceparent and
// ParentBased(TraceIDRatioBased(0)): the server span does not record.
func TestAllocServerRequestUnsampled(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	r := allocServerRequest(t, unsampledTracerProvider(t), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
	if r.recording || r.seen != "req-42" || r.echo.Get("X-Request-Id") != "req-42" ||
		r.echo.Get("X-Trace-Id") != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("%+v", r)
	}
	t.Logf("NewHandler, unsampled: %v allocations per request (limit %d)", r.n, maxServerAllocsUnsampled)
	if r.n > maxServerAllocsUnsampled {
		t.Errorf("NewHandler, unsampled: %v allocations per request, want at most %d", r.n, maxServerAllocsUnsampled)
	}
}

// TestAllocTransportCallUnsampled is TestAllocTransportCall from inside an unsampled request.
func TestAllocTransportCallUnsampled(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	n, sent := allocTransportCall(t, unsampledTracerProvider(t))
	if tpv := sent.Get("Traceparent"); !strings.HasSuffix(tpv, "-00") || sent.Get("X-Request-Id") != "req-42" ||
		sent.Get("X-Trace-Id") == "" || sent.Get("X-Span-Id") == "" {
		t.Fatalf("headers sent: %v", sent)
	}
	t.Logf("Transport, unsampled: %v allocations per call (limit %d)", n, maxTransportAllocsUnsampled)
	if n > maxTransportAllocsUnsampled {
		t.Errorf("Transport, unsampled: %v allocations per call, want at most %d", n, maxTransportAllocsUnsampled)
	}
}

// TestUnsampledRequestMetrics: metrics are not sampled. Unsampled requests are counted with the
// route learnt while the handler ran (a ServeMux inside next) and the status it sent.
func TestUnsampledRequestMetrics(t *testing.T) {
	s := newHMSetup(t)
	s.tp = unsampledTracerProvider(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "order") })
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of stock", http.StatusServiceUnavailable)
	})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r) }) // the route comes late
	srv := httptest.NewServer(NewHandler(inner, WithTracerProvider(s.tp), WithPropagator(mwPropagator()), s.opt))
	defer srv.Close()
	hmDo(t, http.MethodGet, srv.URL+"/orders/7", "")
	hmDo(t, http.MethodGet, srv.URL+"/orders/8", "")
	hmDo(t, http.MethodPost, srv.URL+"/orders", "")
	want := map[string]uint64{"http.route=/orders/{id}|http.response.status_code=200": 2, "http.route=/orders|http.response.status_code=503": 1}
	for set, dp := range histPoints(t, s.collect(t)["http.server.request.duration"]) {
		for w, n := range want {
			route, status, _ := strings.Cut(w, "|")
			if strings.Contains(set, route+",") && strings.Contains(set, status) {
				if dp.Count != n {
					t.Errorf("%s: %d requests counted, want %d", set, dp.Count, n)
				}
				delete(want, w)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("no duration points for %v", want)
	}
}
