package keep_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// One request in a hundred is sampled at the head; the capture keeps the failed ones whole.
func Example() {
	exp := tracetest.NewInMemoryExporter()
	bsp := sdktrace.NewBatchSpanProcessor(exp)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(keep.Sampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0)))), // 0 here, 0.01 in production
		sdktrace.WithSpanProcessor(keep.NewProcessor([]sdktrace.SpanProcessor{bsp})))
	tr := tp.Tracer("shop")

	for _, fail := range []bool{false, true, false} {
		ctx, req := tr.Start(context.Background(), "GET /checkout")
		_, charge := tr.Start(ctx, "charge card")
		if fail {
			charge.RecordError(errors.New("card declined"))
			charge.SetStatus(codes.Error, "card declined")
		}
		charge.End()
		req.End()
	}
	_ = tp.ForceFlush(context.Background())
	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.SpanContext.IsSampled(), s.Status.Code)
	}
	_ = tp.Shutdown(context.Background())
	// Output:
	// charge card true Error
	// GET /checkout true Unset
}
