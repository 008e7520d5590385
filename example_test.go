package ctxtrail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ctxtrail/ctxtrail"
)

func ExampleInstall() {
	var out bytes.Buffer
	p, err := ctxtrail.Install(context.Background(),
		ctxtrail.WithServiceName("orders"),
		ctxtrail.WithWriter(&out), // stdout JSON lines by default
		ctxtrail.WithoutGlobal(),  // a service would leave this out
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
	_, err := ctxtrail.Install(context.Background(), ctxtrail.WithOTLP("collector:4318"), ctxtrail.WithoutGlobal())
	fmt.Println(err)
	// Output:
	// ctxtrail: bad configuration: ctxtrail.WithOTLP="collector:4318": want an http or https URL such as http://localhost:4318
}
