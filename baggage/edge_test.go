package baggage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/baggage"
	"github.com/ctxtrail/ctxtrail/internal/headervalues"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// edge is two services on 127.0.0.1 behind httpctx.NewHandler: front, whose spans get baggage
// members copied on (baggage.NewSpanProcessor) and whose log lines carry them
// (zapbridge.WithBaggageMembers), calls back through httpctx.NewTransport; back records the
// baggage header it receives.
type edge struct {
	front, back *httptest.Server
	rec         *tracetest.SpanRecorder
	logs        *observer.ObservedLogs

	mu       sync.Mutex
	seen     otelbaggage.Baggage // front's handler
	backHdr  []string            // baggage fields back received
	backSeen otelbaggage.Baggage
}

var copied = []string{baggage.KeyUserID, baggage.KeyTenantID, "plan"}

func startEdge(t *testing.T, prop propagation.TextMapPropagator, opts ...httpctx.HandlerOption) *edge {
	t.Helper()
	e := &edge{rec: tracetest.NewSpanRecorder()}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(baggage.NewSpanProcessor(baggage.Keys(copied...))),
		sdktrace.WithSpanProcessor(e.rec))
	core, logs := observer.New(zapcore.InfoLevel)
	e.logs = logs
	log := zapbridge.New(zap.New(core), zapbridge.WithBaggageMembers(copied...))
	quiet := httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {}))

	e.back = httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.backHdr = r.Header.Values("baggage")
		e.backSeen = otelbaggage.FromContext(r.Context())
		e.mu.Unlock()
	}), httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop), quiet))
	base := &http.Transport{}
	client := &http.Client{Transport: httpctx.NewTransport(base, httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop))}
	fopts := append([]httpctx.HandlerOption{httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop), quiet}, opts...)
	e.front = httptest.NewUnstartedServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		e.mu.Lock()
		e.seen = otelbaggage.FromContext(ctx)
		e.mu.Unlock()
		log.Ctx(ctx).Info("handled")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.back.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}), fopts...))
	headervalues.Allow(e.front.Config, 2000) // the edge's own bounds are under test, not net/http's
	e.front.Start()
	t.Cleanup(func() {
		e.front.Close()
		e.back.Close()
		base.CloseIdleConnections()
	})
	return e
}

func (e *edge) call(t *testing.T, baggageFields ...string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.front.URL, nil)
	for _, f := range baggageFields {
		req.Header.Add("baggage", f)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

var edgePropagators = []struct {
	name string
	prop func() propagation.TextMapPropagator
}{
	{"SDK propagator", func() propagation.TextMapPropagator {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}},
	{"ctxtrail propagator", func() propagation.TextMapPropagator {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{},
			baggage.NewPropagator(baggage.WithErrorHandler(func(error) {})))
	}},
}

// TestEdgeKeepsTheFirstMembersWithinTheLimits: behind httpctx.NewHandler, baggage over W3C's
// limits keeps its first members whole and in order, with either propagator, exactly as the
// baggage package's propagator does on its own.
func TestEdgeKeepsTheFirstMembersWithinTheLimits(t *testing.T) {
	members := func(n, size int) []string {
		out := make([]string, n)
		for i := range out {
			k := fmt.Sprintf("k%03d", i)
			out[i] = k + "=" + strings.Repeat("v", size-len(k)-1)
		}
		return out
	}
	tests := []struct {
		name   string
		fields []string
		want   int
	}{
		{"65 members in one field", []string{strings.Join(members(65, 6), ",")}, 64},
		{"65 fields", members(65, 6), 64},
		{"1,000 fields", members(1000, 6), 64},
		{"50 members of 200 bytes", []string{strings.Join(members(50, 200), ",")}, 40}, // 40×201−1 ≤ 8192 < 41×201−1
		{"a malformed member counts among the 64", append([]string{"=bad"}, members(64, 6)...), 63},
	}
	for _, p := range edgePropagators {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				// The reference: the baggage package's propagator straight on the header.
				h := http.Header{"Baggage": tt.fields}
				ref := otelbaggage.FromContext(baggage.NewPropagator(baggage.WithErrorHandler(func(error) {})).
					Extract(context.Background(), propagation.HeaderCarrier(h)))
				if ref.Len() != tt.want {
					t.Fatalf("the propagator alone keeps %d members, want %d", ref.Len(), tt.want)
				}
				e := startEdge(t, p.prop())
				e.call(t, tt.fields...)
				e.mu.Lock()
				seen, back := e.seen, e.backSeen
				e.mu.Unlock()
				if seen.Len() != tt.want || back.Len() != tt.want {
					t.Fatalf("the handler saw %d members and downstream %d, want %d", seen.Len(), back.Len(), tt.want)
				}
				for _, m := range ref.Members() {
					if seen.Member(m.Key()).Value() != m.Value() {
						t.Fatalf("member %s: %q behind the handler, %q through the propagator alone",
							m.Key(), seen.Member(m.Key()).Value(), m.Value())
					}
				}
			})
		}
	}
}

// TestEdgeIdentifierMembersHoldIdentifiers: a user ID or tenant ID that its member refuses
// (spaces, quotes, CR LF) reaches neither the handler's baggage, nor a span, nor a log line, nor
// the next service; at a trust boundary that lets tenant.id in, too. Other members pass.
func TestEdgeIdentifierMembersHoldIdentifiers(t *testing.T) {
	const hostile = "user.id=bob%20%22x%22%0D%0Aevil,tenant.id=acme%20corp%0D%0AX-Evil:%201,plan=gold"
	for _, p := range edgePropagators {
		for _, boundary := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/boundary=%v", p.name, boundary), func(t *testing.T) {
				var opts []httpctx.HandlerOption
				if boundary {
					opts = append(opts, httpctx.WithTrustBoundary(baggage.KeyTenantID, "plan"))
				}
				e := startEdge(t, p.prop(), opts...)
				e.call(t, hostile)
				e.mu.Lock()
				seen, backHdr := e.seen, strings.Join(e.backHdr, ",")
				e.mu.Unlock()
				for _, k := range []string{baggage.KeyUserID, baggage.KeyTenantID} {
					if m := seen.Member(k); m.Key() != "" {
						t.Errorf("the handler's baggage holds %s=%q", k, m.Value())
					}
				}
				if seen.Member("plan").Value() != "gold" || !strings.Contains(backHdr, "plan=gold") {
					t.Errorf("plan=gold lost: handler %q, downstream %q", seen.String(), backHdr)
				}
				if strings.Contains(backHdr, "user.id") || strings.Contains(backHdr, "tenant.id") {
					t.Errorf("downstream received %q", backHdr)
				}
				checkNoIDs(t, e)
			})
		}
	}
}

// TestCopyPointsCheckIdentifiers: baggage that entered the context without the edge's reading
// (set by code with the SDK, or extracted by another middleware) is checked again where it is
// copied: the span processor and zapbridge leave a refused identifier out.
func TestCopyPointsCheckIdentifiers(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(baggage.NewSpanProcessor(baggage.Keys(copied...))),
		sdktrace.WithSpanProcessor(rec))
	core, logs := observer.New(zapcore.InfoLevel)
	log := zapbridge.New(zap.New(core), zapbridge.WithBaggageMembers(copied...))
	bad, _ := otelbaggage.NewMemberRaw(baggage.KeyUserID, "bob \"x\"\r\nevil")
	tenant, _ := otelbaggage.NewMemberRaw(baggage.KeyTenantID, "acme")
	plan, _ := otelbaggage.NewMemberRaw("plan", "gold \"vip\"")
	b, _ := otelbaggage.New(bad, tenant, plan)
	ctx := otelbaggage.ContextWithBaggage(context.Background(), b)
	ctx, span := tp.Tracer("t").Start(ctx, "work")
	log.Ctx(ctx).Info("handled")
	span.End()
	if _, ok := baggage.UserID().Get(ctx); ok {
		t.Fatal("UserID().Get accepted the value")
	}
	attrs := map[string]string{}
	for _, kv := range rec.Ended()[0].Attributes() {
		attrs[string(kv.Key)] = kv.Value.AsString()
	}
	if _, ok := attrs[baggage.KeyUserID]; ok || attrs[baggage.KeyTenantID] != "acme" || attrs["plan"] != "gold \"vip\"" {
		t.Fatalf("span attributes %v: want tenant.id and plan (a plain string member) but no user.id", attrs)
	}
	fields := logs.All()[0].ContextMap()
	if _, ok := fields[baggage.KeyUserID]; ok || fields[baggage.KeyTenantID] != "acme" {
		t.Fatalf("log fields %v", fields)
	}
	if got := baggage.Attributes(ctx, baggage.KeyFunc(func(string) bool { return true })); len(got) != 2 {
		t.Fatalf("Attributes with a KeyFunc filter = %v", got)
	}
	if kept := otelbaggage.FromContext(baggage.Restrict(ctx, baggage.Keys(copied...))); kept.Member(baggage.KeyUserID).Key() != "" {
		t.Fatal("Restrict kept the refused user.id")
	}
}

func checkNoIDs(t *testing.T, e *edge) {
	t.Helper()
	for _, sp := range e.rec.Ended() {
		for _, kv := range sp.Attributes() {
			if k := string(kv.Key); k == baggage.KeyUserID || k == baggage.KeyTenantID {
				t.Errorf("span %q (%v) carries %s=%q", sp.Name(), sp.SpanKind(), k, kv.Value.AsString())
			}
			if kv.Key == "plan" && sp.SpanKind() == trace.SpanKindServer && kv.Value.AsString() != "gold" {
				t.Errorf("span plan=%q", kv.Value.AsString())
			}
		}
	}
	for _, l := range e.logs.All() {
		for _, f := range l.Context {
			if f.Key == baggage.KeyUserID || f.Key == baggage.KeyTenantID {
				t.Errorf("log line %q carries %s=%q", l.Message, f.Key, f.String)
			}
		}
	}
}
