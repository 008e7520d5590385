package otelctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

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

func ExampleInstall() {
	var out bytes.Buffer
	p, err := otelctx.Install(context.Background(),
		otelctx.WithServiceName("orders"),
		otelctx.WithWriter(&out), // stdout JSON lines by default
		otelctx.WithoutGlobal(),  // a service would leave this out
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, span := p.Tracer("shop").Start(context.Background(), "GET /orders")
	_, child := p.Tracer("shop").Start(ctx, "load order")
	child.End()
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var s struct{ Name string }
		_ = json.Unmarshal([]byte(line), &s)
		fmt.Println(s.Name)
	}
	// Output:
	// load order
	// GET /orders
}

func ExampleInstall_badConfiguration() {
	_, err := otelctx.Install(context.Background(), otelctx.WithOTLP("collector:4318"), otelctx.WithoutGlobal())
	fmt.Println(err)
	// Output:
	// otelctx: bad configuration: otelctx.WithOTLP="collector:4318": want an http or https URL such as http://localhost:4318
}
