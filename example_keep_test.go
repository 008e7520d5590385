package ctxtrail_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The head samples nothing here (1% in production); the capture still exports the request that
// failed, whole, and drops the one that did not.
func ExampleWithKeepErrorsAndSlow() {
	exp := tracetest.NewInMemoryExporter()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutMetrics(),
		ctxtrail.WithExporter(exp),
		ctxtrail.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))),
		ctxtrail.WithKeepErrorsAndSlow(keep.WithSlowThreshold(500*time.Millisecond)))
	if err != nil {
		fmt.Println(err)
		return
	}
	tr := p.Tracer("shop")
	for _, card := range []string{"4242", "0000"} {
		ctx, req := tr.Start(context.Background(), "GET /checkout "+card)
		_ = spans.Run(ctx, "charge", func(context.Context) error {
			if card == "0000" {
				return errors.New("declined")
			}
			return nil
		})
		req.End()
	}
	_ = p.ForceFlush(context.Background())
	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.SpanContext.IsSampled())
	}
	_ = p.Shutdown(context.Background())
	// Output:
	// charge true
	// GET /checkout 0000 true
}
