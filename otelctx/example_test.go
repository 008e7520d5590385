package otelctx_test

import (
	"context"
	"fmt"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
)

var userKey = otelctx.NewKey[string]("user")

func ExampleKey() {
	handle := func(ctx context.Context) {
		user, ok := userKey.From(ctx)
		fmt.Println(user, ok)
	}
	_ = userKey.Run(context.Background(), "ada", func(ctx context.Context) error {
		handle(ctx) // everything below Run sees the value
		return nil
	})
	handle(context.Background()) // nothing outside does
	// Output:
	// ada true
	//  false
}

func ExampleAddFields() {
	ctx := otelctx.AddFields(context.Background(), attribute.String("request_id", "r-1"))

	checkout := otelctx.AddFields(ctx, attribute.String("step", "checkout"))
	for kv := range otelctx.FieldsFrom(checkout).All() {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value.String())
	}
	fmt.Println(otelctx.FieldsFrom(ctx).Len(), "field in the parent")
	// Output:
	// request_id=r-1
	// step=checkout
	// 1 field in the parent
}
