package grpcctx_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// TestFusedPairs holds the client handler's one-pass headers for propagators.New (inject.go)
// to what the same three propagators write through the composite, pair for pair and in the
// same order for a key: over sampled, unsampled and no spans, tracestate (the span's own, a Level 2 list,
// both), baggage, valid, unsafe and missing request IDs, outgoing metadata already there, with
// and without WithXTraceHeaders.
func TestFusedPairs(t *testing.T) {
	composite := propagation.NewCompositeTextMapPropagator(propagators.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
	bag, err := baggage.Parse("tenant=acme,user=a%20b;p=1")
	if err != nil {
		t.Fatal(err)
	}
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	withParent := func(ctx context.Context, tp, ts string) context.Context {
		return propagators.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp, "tracestate": ts})
	}
	own, err := trace.ParseTraceState("congo=t61rcWkgMzE")
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string]func(context.Context) context.Context{
		"none":      func(ctx context.Context) context.Context { return ctx },
		"sampled":   func(ctx context.Context) context.Context { return withParent(ctx, tp, "") },
		"unsampled": func(ctx context.Context) context.Context { return withParent(ctx, tp[:53]+"00", "") },
		"tracestate": func(ctx context.Context) context.Context {
			return withParent(ctx, tp, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
		},
		"level 2": func(ctx context.Context) context.Context { return withParent(ctx, tp, "1a=1,congo=2") },
		"level 2 and own": func(ctx context.Context) context.Context {
			ctx = withParent(ctx, tp, "1a=1,congo=2")
			return trace.ContextWithRemoteSpanContext(ctx, trace.SpanContextFromContext(ctx).WithTraceState(own))
		},
	}
	ids := map[string]func(context.Context) context.Context{
		"no id":    func(ctx context.Context) context.Context { return ctx },
		"valid id": func(ctx context.Context) context.Context { return otelctx.WithRequestID(ctx, "req-1") },
		"unsafe":   func(ctx context.Context) context.Context { return otelctx.WithRequestID(ctx, "bad id") },
	}
	outs := map[string]func(context.Context) context.Context{
		"no metadata": func(ctx context.Context) context.Context { return ctx },
		"forwarded": func(ctx context.Context) context.Context {
			return metadata.NewOutgoingContext(ctx, metadata.MD{"traceparent": {"00-11111111111111111111111111111111-2222222222222222-01"},
				"x-trace-id": {"11111111111111111111111111111111"}, "x-request-id": {"old"}, "authorization": {"a"}})
		},
	}
	tps := map[string]trace.TracerProvider{
		"sampled":       sdktrace.NewTracerProvider(),
		"never sampled": sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())),
		"noop":          tracenoop.NewTracerProvider(),
	}
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/UnaryCall"}
	n := 0
	for tpName, provider := range tps {
		for _, xTrace := range []bool{false, true} {
			opts := []grpcctx.Option{grpcctx.WithTracerProvider(provider), grpcctx.WithMeterProvider(noop.NewMeterProvider())}
			if xTrace {
				opts = append(opts, grpcctx.WithXTraceHeaders())
			}
			fused := grpcctx.NewClientHandler(append(opts, grpcctx.WithPropagator(propagators.New()))...)
			slow := grpcctx.NewClientHandler(append(opts, grpcctx.WithPropagator(composite))...)
			for pName, parent := range parents {
				for iName, id := range ids {
					for oName, out := range outs {
						for _, withBag := range []bool{false, true} {
							ctx := out(id(parent(context.Background())))
							if withBag {
								ctx = baggage.ContextWithBaggage(ctx, bag)
							}
							name := fmt.Sprintf("%s/xtrace=%v/%s/%s/%s/baggage=%v", tpName, xTrace, pName, iName, oName, withBag)
							got, want := outgoing(t, fused, ctx, info), outgoing(t, slow, ctx, info)
							if !slices.Equal(got, want) {
								t.Errorf("%s:\n fused     %q\n composite %q", name, got, want)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n != 3*2*6*3*2*2 {
		t.Fatalf("%d cases", n)
	}
}

// outgoing runs h.TagRPC on ctx and returns the outgoing metadata it leaves, as pairs sorted
// by key (values of a key in their order), with the trace and span IDs of the client span replaced by
// placeholders (each handler starts its own span) and baggage members sorted.
func outgoing(t *testing.T, h stats.Handler, ctx context.Context, info *stats.RPCTagInfo) []string {
	t.Helper()
	c := h.TagRPC(ctx, info)
	sc := trace.SpanContextFromContext(c)
	h.HandleRPC(c, &stats.End{})
	md, _ := metadata.FromOutgoingContext(c)
	var kv []string
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			kv = append(kv, k, v)
		}
	}
	for i := 1; i < len(kv); i += 2 {
		if sc.IsValid() {
			kv[i] = strings.ReplaceAll(kv[i], sc.TraceID().String(), "<trace>")
			kv[i] = strings.ReplaceAll(kv[i], sc.SpanID().String(), "<span>")
		}
		if strings.HasSuffix(kv[i-1], "baggage") {
			ms := strings.Split(kv[i], ",")
			slices.Sort(ms)
			kv[i] = strings.Join(ms, ",")
		}
	}
	return kv
}

// TestFusedWithNew: the one-pass headers are written for propagators.New, the propagator
// Install gives a Provider by default, and only for it.
func TestFusedWithNew(t *testing.T) {
	composite := propagation.NewCompositeTextMapPropagator(propagators.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
	for _, tt := range []struct {
		name string
		prop propagation.TextMapPropagator
		want bool
	}{
		{"New", propagators.New(), true},
		{"the same composite", composite, false},
		{"XTrace", propagators.XTrace{}, false},
	} {
		if got := grpcctx.ClientWritesFused(grpcctx.NewClientHandler(grpcctx.WithPropagator(tt.prop))); got != tt.want {
			t.Errorf("%s: fused %v, want %v", tt.name, got, tt.want)
		}
	}
	// No option: the global propagator as it is when the handler is made. Once a service (or
	// Install) has set New's composite, a handler made after it writes in one pass; one made
	// before holds otel's delegating propagator, which takes the composite's way.
	prev := otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
	otel.SetTextMapPropagator(propagators.New())
	if !grpcctx.ClientWritesFused(grpcctx.NewClientHandler()) {
		t.Error("a handler made after the global propagator was set to New does not write in one pass")
	}
}
