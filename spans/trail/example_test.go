package trail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
)

func ExampleCapture() {
	show := trail.SinkFunc(func(_ context.Context, r *trail.Report) {
		fmt.Println("report for", r.RequestID+":", r.Message)
		for _, e := range r.Errors {
			fmt.Printf("  %s%s: %s\n", strings.Repeat("  ", e.Depth), e.Type, e.Message)
		}
		for _, b := range r.Breadcrumbs {
			fmt.Printf("  crumb %s/%s: %s\n", b.Level, b.Category, b.Message)
		}
	})
	// The otelctx middleware and trail.NewHandler do this for each request.
	ctx := trail.Start(context.Background(), trail.WithSink(show))
	ctx = otelctx.WithRequestID(ctx, "req-42")

	trail.AddBreadcrumb(ctx, "cart loaded", attribute.Int("items", 3))
	trail.Add(ctx, trail.Breadcrumb{Level: trail.LevelWarning, Category: "payment", Message: "card retry"})
	trail.Capture(ctx, fmt.Errorf("checkout: %w", errors.New("card declined")))
	// Output:
	// report for req-42: checkout: card declined
	//   *fmt.wrapError: checkout: card declined
	//     *errors.errorString: card declined
	//   crumb info/default: cart loaded
	//   crumb warning/payment: card retry
}

func ExampleWithBeforeBreadcrumb() {
	scrub := func(_ context.Context, b trail.Breadcrumb) (trail.Breadcrumb, bool) {
		if b.Category == "healthcheck" {
			return b, false // drop
		}
		for i, kv := range b.Data {
			if kv.Key == "card" {
				b.Data[i] = attribute.String("card", "[redacted]")
			}
		}
		return b, true
	}
	ctx := trail.Start(context.Background(), trail.WithBeforeBreadcrumb(scrub), trail.WithMaxBreadcrumbs(10))
	trail.AddBreadcrumb(ctx, "charge", attribute.String("card", "4242424242424242"))
	trail.Add(ctx, trail.Breadcrumb{Category: "healthcheck", Message: "ping"})

	for _, b := range trail.FromContext(ctx).Breadcrumbs() {
		fmt.Println(b.Message, b.Data[0].Key, b.Data[0].Value.String())
	}
	// Output:
	// charge card [redacted]
}

func ExampleNewHandler() {
	sink := trail.NewMemorySink(10) // a service would use trailzap.NewLogSink
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trail.AddBreadcrumb(r.Context(), "parsing order")
		var items []string
		_ = items[2] // a bug: index out of range
	})
	srv := httptest.NewServer(httpctx.NewHandler(trail.NewHandler(app, trail.WithSink(sink))))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/orders")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	r := sink.Reports()[0]
	fmt.Println(resp.StatusCode, r.Panic, r.Message)
	fmt.Println("request id matches:", r.RequestID == resp.Header.Get("X-Request-Id"))
	fmt.Println("crumbs:", r.Breadcrumbs[0].Message)
	// Output:
	// 500 true runtime error: index out of range [2] with length 0
	// request id matches: true
	// crumbs: parsing order
}

func ExampleStack() {
	load := func() error { return trail.Stack(io.ErrUnexpectedEOF) } // the stack is taken here
	r := trail.Capture(context.Background(), fmt.Errorf("import: %w", load()))
	fmt.Println(r.StackSource, strings.HasSuffix(r.Stack[0].Function, "ExampleStack.func1"))
	// Output:
	// error true
}
