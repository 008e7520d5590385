package requestpath_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctxtrail/ctxtrail/benchmarks/requestpath"
)

// One request to the ctxtrail build: the front service answers with the request ID its
// downstream service received, which is the one the caller sent.
func ExampleStart() {
	exp := new(requestpath.DiscardExporter)
	s, err := requestpath.Start(requestpath.CtxtrailDefaults, requestpath.WithExporter(exp))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(context.Background())
	g := requestpath.NewGenerator(1)
	defer g.Close()

	status, body, hdr, err := g.Do(context.Background(), s.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Flush(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(status, strings.TrimPrefix(string(body), "ok ") == hdr.Get("X-Request-Id"))
	fmt.Println("spans exported:", exp.Spans())
	// Output:
	// 200 true
	// spans exported: 5
}
