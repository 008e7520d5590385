package propagators_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
)

const (
	xtTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	xtSpanID  = "00f067aa0ba902b7"
)

// xtComposite is the composite Install sets by default.
func xtComposite() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
}

func xtSpanContext(t *testing.T, tid, sid string, flags trace.TraceFlags) trace.SpanContext {
	t.Helper()
	tID, err := trace.TraceIDFromHex(tid)
	if err != nil {
		t.Fatal(err)
	}
	sID, err := trace.SpanIDFromHex(sid)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tID, SpanID: sID, TraceFlags: flags})
}

func TestXTraceInject(t *testing.T) {
	sc := xtSpanContext(t, xtTraceID, xtSpanID, trace.FlagsSampled)
	ctx := otelctx.WithRequestID(trace.ContextWithSpanContext(context.Background(), sc), "req-7")
	tests := []struct {
		name  string
		prop  propagation.TextMapPropagator
		ctx   context.Context
		want  map[string]string
		unset []string
	}{
		{
			name: "alone",
			prop: propagators.XTrace{},
			ctx:  ctx,
			want: map[string]string{"X-Trace-Id": xtTraceID, "X-Span-Id": xtSpanID, "X-Request-Id": "req-7"},
		},
		{
			name: "beside traceparent",
			prop: xtComposite(),
			ctx:  ctx,
			want: map[string]string{
				"Traceparent": "00-" + xtTraceID + "-" + xtSpanID + "-01",
				"X-Trace-Id":  xtTraceID, "X-Span-Id": xtSpanID, "X-Request-Id": "req-7",
			},
		},
		{
			name:  "no span, no request id",
			prop:  xtComposite(),
			ctx:   context.Background(),
			want:  map[string]string{},
			unset: []string{"Traceparent", "X-Trace-Id", "X-Span-Id", "X-Request-Id"},
		},
		{
			name:  "unsafe request id is not forwarded",
			prop:  propagators.XTrace{},
			ctx:   otelctx.WithRequestID(context.Background(), "a\r\nSet-Cookie: x"),
			want:  map[string]string{},
			unset: []string{"X-Request-Id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.prop.Inject(tt.ctx, propagators.HeaderCarrier(h))
			for k, v := range tt.want {
				if got := h.Values(k); !slices.Equal(got, []string{v}) {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.unset {
				if _, ok := h[k]; ok {
					t.Errorf("%s set to %q", k, h[k])
				}
			}
		})
	}
}

// TestXTraceInjectStaleTraceparent checks that the x-headers describe the context, not a
// traceparent left in the carrier for another span.
func TestXTraceInjectStaleTraceparent(t *testing.T) {
	sc := xtSpanContext(t, xtTraceID, xtSpanID, trace.FlagsSampled)
	m := propagation.MapCarrier{"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}
	propagators.XTrace{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), m)
	if m["x-trace-id"] != xtTraceID || m["x-span-id"] != xtSpanID {
		t.Fatalf("x-trace-id %q x-span-id %q", m["x-trace-id"], m["x-span-id"])
	}
}

func TestXTraceExtract(t *testing.T) {
	const otherTrace = "0af7651916cd43dd8448eb211c80319c"
	tests := []struct {
		name      string
		h         http.Header
		wantTrace string // "" means no trace ID in the context
		wantSpan  string // "" means no valid parent span
		wantReqID string
	}{
		{"x-trace-id only joins the trace as a root", ctHeader("x-trace-id", xtTraceID), xtTraceID, "", ""},
		{"x-trace-id and x-span-id", ctHeader("x-trace-id", xtTraceID, "x-span-id", xtSpanID), xtTraceID, xtSpanID, ""},
		{"bad x-span-id keeps the trace", ctHeader("x-trace-id", xtTraceID, "x-span-id", "zz"), xtTraceID, "", ""},
		{"valid traceparent wins", ctHeader("traceparent", "00-"+otherTrace+"-"+xtSpanID+"-01", "x-trace-id", xtTraceID), otherTrace, xtSpanID, ""},
		{"invalid traceparent lets x-trace-id in", ctHeader("traceparent", "00-"+otherTrace+"-0000000000000000-01", "x-trace-id", xtTraceID), xtTraceID, "", ""},
		{"two traceparent fields let x-trace-id in", ctHeader("traceparent", "00-"+otherTrace+"-"+xtSpanID+"-01", "traceparent", "00-"+otherTrace+"-"+xtSpanID+"-01", "x-trace-id", xtTraceID), xtTraceID, "", ""},
		{"uppercase hex ignored", ctHeader("x-trace-id", strings.ToUpper(xtTraceID)), "", "", ""},
		{"short ignored", ctHeader("x-trace-id", xtTraceID[:31]), "", "", ""},
		{"all zeros ignored", ctHeader("x-trace-id", strings.Repeat("0", 32)), "", "", ""},
		{"0x80 byte ignored", ctHeader("x-trace-id", xtTraceID[:31]+"\x80"), "", "", ""},
		{"two x-trace-id fields ignored", ctHeader("x-trace-id", xtTraceID, "x-trace-id", xtTraceID), "", "", ""},
		{"x-span-id alone ignored", ctHeader("x-span-id", xtSpanID), "", "", ""},
		{"request id", ctHeader("x-request-id", "req-1"), "", "", "req-1"},
		{"CR LF request id ignored", ctHeader("x-request-id", "a\r\nb"), "", "", ""},
		{"8 KiB request id ignored", ctHeader("x-request-id", strings.Repeat("a", 8<<10)), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := xtComposite().Extract(context.Background(), propagators.HeaderCarrier(tt.h))
			sc := trace.SpanContextFromContext(ctx)
			switch {
			case tt.wantTrace == "" && sc.TraceID().IsValid():
				t.Fatalf("trace ID %s extracted, want none", sc.TraceID())
			case tt.wantTrace != "" && sc.TraceID().String() != tt.wantTrace:
				t.Fatalf("trace ID %s, want %s", sc.TraceID(), tt.wantTrace)
			case tt.wantSpan == "" && sc.SpanID().IsValid():
				t.Fatalf("span ID %s extracted, want none", sc.SpanID())
			case tt.wantSpan != "" && sc.SpanID().String() != tt.wantSpan:
				t.Fatalf("span ID %s, want %s", sc.SpanID(), tt.wantSpan)
			}
			if tt.wantTrace != "" && !sc.IsRemote() {
				t.Fatal("extracted span context is not remote")
			}
			if got := otelctx.RequestID(ctx); got != tt.wantReqID {
				t.Fatalf("request ID %q, want %q", got, tt.wantReqID)
			}
		})
	}
}

func TestXTraceFields(t *testing.T) {
	got := propagators.XTrace{}.Fields()
	if want := []string{"x-trace-id", "x-span-id", "x-request-id"}; !slices.Equal(got, want) {
		t.Fatalf("Fields = %q, want %q", got, want)
	}
}

// TestExtractWithoutHeadersAllocatesNothing is the allocation goal as a test: our
// composite adds no allocation when a request carries no trace headers.
func TestExtractWithoutHeadersAllocatesNothing(t *testing.T) {
	h := ctHeader("accept", "*/*", "user-agent", "test")
	c := propagators.HeaderCarrier(h)
	p := xtComposite()
	ctx := context.Background()
	if allocs := testing.AllocsPerRun(100, func() { _ = p.Extract(ctx, c) }); allocs != 0 {
		t.Fatalf("Extract with no trace headers allocates %.1f times, want 0", allocs)
	}
}

func TestInstallPropagators(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		fields []string
	}{
		{"default composite", "", []string{"baggage", "traceparent", "tracestate", "x-request-id", "x-span-id", "x-trace-id"}},
		{"OTEL_PROPAGATORS=xtrace", "xtrace", []string{"x-request-id", "x-span-id", "x-trace-id"}},
		{"OTEL_PROPAGATORS=tracecontext,xtrace", "tracecontext,xtrace", []string{"traceparent", "tracestate", "x-request-id", "x-span-id", "x-trace-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_PROPAGATORS", tt.env)
			p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			got := p.Propagator().Fields()
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("Fields = %q, want %q", got, tt.fields)
			}
		})
	}
}

// TestNewMatchesComposite holds the fused Inject to the composite's output, header for
// header, over flags, tracestate, baggage and request IDs, and on every carrier.
func TestNewMatchesComposite(t *testing.T) {
	fused, composite := propagators.New(), xtComposite()
	ts, err := trace.ParseTraceState("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.Parse("tenant=acme,user=a%20b;p=1")
	if err != nil {
		t.Fatal(err)
	}
	var ctxs []context.Context
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsRandom, trace.FlagsSampled | trace.FlagsRandom, 0xff} {
		for _, state := range []trace.TraceState{{}, ts} {
			sc := xtSpanContext(t, xtTraceID, xtSpanID, flags).WithTraceState(state)
			ctx := trace.ContextWithSpanContext(context.Background(), sc)
			ctxs = append(ctxs, ctx, otelctx.WithRequestID(ctx, "req-1"), baggage.ContextWithBaggage(ctx, bag),
				otelctx.WithRequestID(ctx, "bad id"))
		}
	}
	ctxs = append(ctxs, context.Background(), otelctx.WithRequestID(context.Background(), "only-id"),
		baggage.ContextWithBaggage(context.Background(), bag))
	// Baggage.String orders members by map iteration; compare them sorted.
	sortBaggage := func(v string) string {
		ms := strings.Split(v, ",")
		slices.Sort(ms)
		return strings.Join(ms, ",")
	}
	for i, ctx := range ctxs {
		want, got := http.Header{}, http.Header{}
		composite.Inject(ctx, propagators.HeaderCarrier(want))
		fused.Inject(ctx, propagators.HeaderCarrier(got))
		for _, h := range []http.Header{want, got} {
			if v := h.Get("baggage"); v != "" {
				h.Set("baggage", sortBaggage(v))
			}
		}
		if !maps.EqualFunc(want, got, slices.Equal) {
			t.Fatalf("context %d: fused injected %v, composite %v", i, got, want)
		}
		wantMap, gotMap := propagation.MapCarrier{}, propagation.MapCarrier{}
		composite.Inject(ctx, wantMap)
		fused.Inject(ctx, gotMap)
		for _, m := range []propagation.MapCarrier{wantMap, gotMap} {
			if v := m["baggage"]; v != "" {
				m["baggage"] = sortBaggage(v)
			}
		}
		if !maps.Equal(wantMap, gotMap) {
			t.Fatalf("context %d: fused injected %v into a map, composite %v", i, gotMap, wantMap)
		}
		// What the fused form injects extracts back to the context it came from.
		back := propagators.New().Extract(context.Background(), propagators.HeaderCarrier(got))
		sc, bsc := trace.SpanContextFromContext(ctx), trace.SpanContextFromContext(back)
		if sc.IsValid() && (bsc.TraceID() != sc.TraceID() || bsc.SpanID() != sc.SpanID() || !bsc.IsRemote() ||
			bsc.TraceFlags() != sc.TraceFlags()&3 || bsc.TraceState().String() != sc.TraceState().String()) {
			t.Fatalf("context %d: extracted %v from what %v injected", i, bsc, sc)
		}
		wantID := otelctx.RequestID(ctx)
		if !otelctx.ValidRequestID(wantID) {
			wantID = ""
		}
		if got := otelctx.RequestID(back); got != wantID {
			t.Fatalf("context %d: request ID %q came back as %q", i, otelctx.RequestID(ctx), got)
		}
		if sortBaggage(baggage.FromContext(ctx).String()) != sortBaggage(baggage.FromContext(back).String()) {
			t.Fatalf("context %d: baggage came back as %q", i, baggage.FromContext(back))
		}
	}
	if f, c := fused.Fields(), composite.Fields(); len(f) != len(c) {
		t.Fatalf("Fields %v vs %v", f, c)
	}
}
