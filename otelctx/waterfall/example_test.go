package waterfall_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// countingIDs numbers traces and spans from 1, so that the example's output is the same on
// every run.
type countingIDs struct {
	mu   sync.Mutex
	n    uint64
	next uint64
}

func (g *countingIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[8:], g.n)
	return tid, g.span()
}

func (g *countingIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.span()
}

func (g *countingIDs) span() trace.SpanID {
	g.next++
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], g.next)
	return sid
}

// A Printer registered with a tracer provider prints each trace when its root span ends, with
// the lines logged in it. (Install does the registering for OTEL_TRACES_EXPORTER=ctxtrail-waterfall
// or ctxtrail.WithWaterfall; zapbridge.WithWaterfall does the logging.) The fixed timestamps
// and IDs only make the output the same on every run.
func Example() {
	printer := waterfall.New(os.Stdout, waterfall.WithBarWidth(20))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(printer),
		sdktrace.WithIDGenerator(&countingIDs{}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "orders"))),
	)
	tracer := tp.Tracer("example")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) trace.SpanEventOption { return trace.WithTimestamp(t0.Add(d)) }

	ctx, root := tracer.Start(context.Background(), "POST /orders", at(0), trace.WithSpanKind(trace.SpanKindServer))
	_, load := tracer.Start(ctx, "load cart", at(100*time.Microsecond))
	load.End(at(300 * time.Microsecond))
	cctx, charge := tracer.Start(ctx, "charge", at(400*time.Microsecond))
	sc := trace.SpanContextFromContext(cctx)
	printer.Log(waterfall.Line{
		Time: t0.Add(1500 * time.Microsecond), TraceID: sc.TraceID(), SpanID: sc.SpanID(),
		Level: "warn", Message: "charge declined", Attrs: []attribute.KeyValue{attribute.Int("cents", 1500)},
	})
	charge.RecordError(errors.New("card declined"))
	charge.SetStatus(codes.Error, "card declined")
	charge.End(at(1600 * time.Microsecond))
	root.End(at(2 * time.Millisecond))

	_ = tp.Shutdown(context.Background()) // flushes the printer
	_ = printer.Shutdown(context.Background())
	// Output:
	// trace 00000000000000000000000000000001  3 spans  2.0ms  1 error
	//   orders  POST /orders  |████████████████████|    2.0ms
	//   orders    └ load cart | ██                 |    200µs
	//   orders    └ charge    |    ████████████    |    1.2ms  ✗ card declined
	//       +1.5ms  orders  warn   charge declined  cents=1500
}
