package propagators_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Inject writes the W3C headers and the x-headers from one context; Extract on the next
// service reads them back.
func Example() {
	prop := propagators.New()

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	ctx = otelctx.WithRequestID(ctx, "req-42")

	h := http.Header{}
	prop.Inject(ctx, propagators.HeaderCarrier(h))
	for _, k := range []string{"Traceparent", "X-Trace-Id", "X-Span-Id", "X-Request-Id"} {
		fmt.Printf("%s: %s\n", k, h.Get(k))
	}

	next := prop.Extract(context.Background(), propagators.HeaderCarrier(h))
	fmt.Println("trace:", trace.SpanContextFromContext(next).TraceID())
	fmt.Println("request:", otelctx.RequestID(next))
	// Output:
	// Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// X-Trace-Id: 4bf92f3577b34da6a3ce929d0e0e4736
	// X-Span-Id: 00f067aa0ba902b7
	// X-Request-Id: req-42
	// trace: 4bf92f3577b34da6a3ce929d0e0e4736
	// request: req-42
}

// A caller that sends only x-trace-id joins its trace; two traceparents, which W3C calls
// invalid, are ignored.
func ExampleHeaderCarrier() {
	h := http.Header{}
	h.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.Set("x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736")

	c := propagators.HeaderCarrier(h)
	fmt.Printf("traceparent: %q\n", c.Get("traceparent"))
	ctx := propagators.New().Extract(context.Background(), c)
	fmt.Println("trace:", trace.SpanContextFromContext(ctx).TraceID())
	// Output:
	// traceparent: ""
	// trace: 4bf92f3577b34da6a3ce929d0e0e4736
}

func ExampleXTrace() {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = otelctx.WithRequestID(ctx, "req-1")

	out := propagation.MapCarrier{}
	propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagators.XTrace{}).Inject(ctx, out)
	keys := out.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s: %s\n", k, out[k])
	}

	// A caller that knows only x-trace-id joins the same trace.
	in := propagators.HeaderCarrier(http.Header{"X-Trace-Id": {"4bf92f3577b34da6a3ce929d0e0e4736"}})
	got := trace.SpanContextFromContext(propagators.XTrace{}.Extract(context.Background(), in))
	fmt.Println("extracted trace:", got.TraceID())
	// Output:
	// traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// x-request-id: req-1
	// x-span-id: 00f067aa0ba902b7
	// x-trace-id: 4bf92f3577b34da6a3ce929d0e0e4736
	// extracted trace: 4bf92f3577b34da6a3ce929d0e0e4736
}
