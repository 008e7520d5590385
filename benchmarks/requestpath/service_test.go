package requestpath

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// lockedBuffer collects log lines from concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func closeService(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestVariants sends one request with good headers to each variant and checks that it does the
// work it claims: five spans in one trace, linked across the downstream call, the incoming
// request ID echoed and forwarded, three JSON lines carrying the IDs, and for the loaded build
// the hooks, the monitor and the breadcrumbs.
func TestVariants(t *testing.T) {
	tests := []struct {
		variant      Variant
		wantSpans    int
		wantIDs      bool // request ID echoed, forwarded, and in the log lines
		wantCrumbs   int  // breadcrumb events on the step spans
		wantCtxField bool // the JSON lines must not carry the bridge's context field
		plainLines   bool // the request ID crosses the wire but the lines carry no IDs (the floor)
	}{
		{variant: Uninstrumented, wantSpans: 0},
		{variant: OTelStack, wantSpans: 5, wantIDs: true},
		{variant: CtxtrailDefaults, wantSpans: 5, wantIDs: true},
		{variant: CtxtrailLoaded, wantSpans: 5, wantIDs: true, wantCrumbs: 2},
		{variant: CtxtrailOTelLogs, wantSpans: 5, wantIDs: true},
		{variant: SDKFloor, wantSpans: 5, wantIDs: true, plainLines: true},
		{variant: SemconvFloor, wantSpans: 5, wantIDs: true},
		// Issue 31: sampling nothing, the IDs still cross the wire and reach every line.
		{variant: CtxtrailUnsampled, wantSpans: 0, wantIDs: true},
		{variant: OTelStackUnsampled, wantSpans: 0, wantIDs: true},
		{variant: SDKFloorUnsampled, wantSpans: 0, wantIDs: true, plainLines: true},
		{variant: SemconvFloorUnsampled, wantSpans: 0, wantIDs: true},
		{variant: CtxtrailLabels, wantSpans: 5, wantIDs: true},
		{variant: CtxtrailFlight, wantSpans: 5, wantIDs: true},
	}
	for _, tt := range tests {
		t.Run(tt.variant.String(), func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			logs := new(lockedBuffer)
			s, err := Start(tt.variant, WithExporter(exp), WithLogWriter(logs))
			if err != nil {
				t.Fatal(err)
			}
			defer closeService(t, s)
			g := NewGenerator(1)
			defer g.Close()

			const inTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
			req, err := http.NewRequest(http.MethodGet, s.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Traceparent", "00-"+inTrace+"-00f067aa0ba902b7-01")
			req.Header.Set("X-Request-Id", "req-123")
			resp, err := g.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %q", resp.StatusCode, body.String())
			}
			wantBody, wantEcho := "ok ", ""
			if tt.wantIDs {
				wantBody, wantEcho = "ok req-123", "req-123"
			}
			if body.String() != wantBody {
				t.Errorf("body %q, want %q (downstream must see the request ID)", body.String(), wantBody)
			}
			if got := resp.Header.Get("X-Request-Id"); got != wantEcho {
				t.Errorf("x-request-id echoed %q, want %q", got, wantEcho)
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}

			got := exp.GetSpans()
			if len(got) != tt.wantSpans {
				t.Fatalf("%d spans, want %d: %v", len(got), tt.wantSpans, got)
			}
			var client, backServer *tracetest.SpanStub
			crumbs := 0
			for i := range got {
				sp := &got[i]
				if tid := sp.SpanContext.TraceID().String(); tid != inTrace {
					t.Errorf("span %q in trace %s, want the incoming %s", sp.Name, tid, inTrace)
				}
				for _, ev := range sp.Events {
					if ev.Name == "breadcrumb" {
						crumbs++
					}
				}
				switch sp.SpanKind {
				case trace.SpanKindClient:
					client = sp
				case trace.SpanKindServer:
					if sp.Parent.IsRemote() && sp.Parent.SpanID().String() != "00f067aa0ba902b7" {
						backServer = sp
					}
				}
			}
			if tt.wantSpans > 0 {
				if client == nil || backServer == nil {
					t.Fatalf("no client span or downstream server span in %v", got)
				}
				if backServer.Parent.SpanID() != client.SpanContext.SpanID() {
					t.Errorf("downstream server span's parent %v, want the client span %v",
						backServer.Parent.SpanID(), client.SpanContext.SpanID())
				}
			}
			if crumbs != tt.wantCrumbs {
				t.Errorf("%d breadcrumb events, want %d", crumbs, tt.wantCrumbs)
			}

			lines := logs.lines(t)
			if len(lines) != 3 {
				t.Fatalf("%d log lines, want 3: %v", len(lines), lines)
			}
			for _, l := range lines {
				if _, ok := l["ctx"]; ok {
					t.Errorf("log line carries the context field: %v", l)
				}
				if !tt.wantIDs || tt.plainLines {
					continue
				}
				if l["trace_id"] != inTrace || l["request_id"] != "req-123" || l["span_id"] == nil {
					t.Errorf("log line without the request's IDs: %v", l)
				}
			}

			if lp := s.loaded; lp != nil {
				// Two spans.Run steps fire before/after; all five spans fire init and destroy.
				if lp.before.Load() != 2 || lp.after.Load() != 2 || lp.init.Load() != 5 || lp.destroy.Load() != 5 {
					t.Errorf("hooks fired init %d before %d after %d destroy %d, want 5 2 2 5",
						lp.init.Load(), lp.before.Load(), lp.after.Load(), lp.destroy.Load())
				}
				if st := lp.monitor.Stats(); st.Created != 5 || st.Ended != 5 || st.Active != 0 {
					t.Errorf("monitor counted %+v, want 5 created and ended", st.Counts)
				}
			}
		})
	}
}

// TestBadInput checks that every variant answers a request with malformed trace headers and an
// unsafe request ID: a fresh trace, a new request ID, no panic.
func TestBadInput(t *testing.T) {
	bad := []struct {
		name, traceparent, requestID string
	}{
		{"garbage", "not-a-traceparent", "bad id with spaces"},
		{"zero trace", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", strings.Repeat("x", 10000)},
		{"bad flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz", "a;b=\"<x>\""},
	}
	for _, v := range Variants() {
		t.Run(v.String(), func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			s, err := Start(v, WithExporter(exp))
			if err != nil {
				t.Fatal(err)
			}
			defer closeService(t, s)
			g := NewGenerator(1)
			defer g.Close()
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					req, err := http.NewRequest(http.MethodGet, s.URL(), nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Traceparent", tt.traceparent)
					req.Header.Set("X-Request-Id", tt.requestID)
					resp, err := g.client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d", resp.StatusCode)
					}
					if v == Uninstrumented {
						return
					}
					id := resp.Header.Get("X-Request-Id")
					if id == "" || id == tt.requestID {
						t.Errorf("x-request-id %q: want a new ID in place of the unsafe one", id)
					}
				})
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, sp := range exp.GetSpans() {
				if !sp.SpanContext.TraceID().IsValid() {
					t.Errorf("span %q without a valid trace ID", sp.Name)
				}
				if sp.SpanContext.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" {
					t.Errorf("span %q adopted a malformed traceparent's trace", sp.Name)
				}
			}
		})
	}
}

func TestStartUnknownVariant(t *testing.T) {
	for _, v := range []Variant{0, CtxtrailFlight + 1, -1} {
		if _, err := Start(v); !errors.Is(err, ErrVariant) {
			t.Errorf("Start(%d) = %v, want ErrVariant", int(v), err)
		}
	}
}

// TestOTelLogRecords: the two variants that send lines to OpenTelemetry's logs signal emit one
// record per JSON line, so that their comparison is like for like.
func TestOTelLogRecords(t *testing.T) {
	for _, v := range []Variant{OTelStack, CtxtrailOTelLogs} {
		t.Run(v.String(), func(t *testing.T) {
			s, err := Start(v, WithExporter(tracetest.NewInMemoryExporter()), WithLogWriter(new(lockedBuffer)))
			if err != nil {
				t.Fatal(err)
			}
			defer closeService(t, s)
			g := NewGenerator(1)
			defer g.Close()
			resp, err := g.client.Get(s.URL())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := s.logRecords.records.Load(); got != 3 {
				t.Fatalf("%d log records, want 3 (one per line)", got)
			}
		})
	}
}
