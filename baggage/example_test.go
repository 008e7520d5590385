package baggage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail/baggage"
)

// A typed member crosses a hop: the denylist keeps the secret in, the allowlist on the other
// side lets in only what it trusts.
func Example() {
	tenant, token := baggage.TenantID(), baggage.String("auth.token")
	ctx, err := tenant.Set(context.Background(), "acme")
	if err != nil {
		panic(err)
	}
	ctx, _ = token.Set(ctx, "s3cr3t")

	// Caller: the propagator strips denied members before writing the header.
	out := baggage.Deny(baggage.NewPropagator(), baggage.Keys("auth.token"))
	h := http.Header{}
	out.Inject(ctx, propagation.HeaderCarrier(h))
	fmt.Println("wire:", h.Get("baggage"))

	// Callee: only the allowlisted members enter.
	in := baggage.NewPropagator(baggage.WithAllow(baggage.Keys(baggage.KeyTenantID)))
	got, ok := tenant.Get(in.Extract(context.Background(), propagation.HeaderCarrier(h)))
	fmt.Println("tenant:", got, ok)
	// Output:
	// wire: tenant.id=acme
	// tenant: acme true
}

// Set refuses what would break the limits and leaves the context as it was.
func ExampleMember_Set() {
	note := baggage.String("note")
	ctx, err := note.Set(context.Background(), strings.Repeat("x", baggage.MaxBytes))
	fmt.Println(errors.Is(err, baggage.ErrTooLarge))
	_, ok := note.Get(ctx)
	fmt.Println(ok)

	_, err = baggage.UserID().Set(context.Background(), "alice\r\nX-Admin: 1")
	fmt.Println(errors.Is(err, baggage.ErrInvalidValue))
	// Output:
	// true
	// false
	// true
}

// Members chosen by a filter appear on every span and can be written on every log line.
func ExampleNewSpanProcessor() {
	chosen := baggage.Keys(baggage.KeyTenantID)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(baggage.NewSpanProcessor(chosen)),
		sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	ctx, _ := baggage.TenantID().Set(context.Background(), "acme")
	ctx, _ = baggage.String("cart").Set(ctx, "c-17")
	_, span := tp.Tracer("example").Start(ctx, "checkout")
	span.End()

	for _, kv := range rec.Ended()[0].Attributes() {
		fmt.Println("span:", kv.Key, kv.Value.AsString())
	}
	for _, kv := range baggage.Attributes(ctx, chosen) {
		fmt.Println("log field:", kv.Key, kv.Value.AsString())
	}
	// Output:
	// span: tenant.id acme
	// log field: tenant.id acme
}
