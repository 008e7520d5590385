package trail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	sink := trail.NewMemorySink(10) // a service would use trail.NewLogSink
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

func ExampleLogBreadcrumb() {
	// Error-level lines logged with a request's context become crumbs of that request.
	out := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.DebugLevel))
	log := zapbridge.New(out, zapbridge.WithErrorHook(trail.LogBreadcrumb))

	ctx := trail.Start(context.Background())
	log.Ctx(ctx).Info("charging card")
	log.Named("billing").Ctx(ctx).Error("card declined")

	for _, b := range trail.FromContext(ctx).Breadcrumbs() {
		fmt.Println(b.Level, b.Category, b.Message, b.Data[0].Key, b.Data[0].Value.String())
	}
	// Output:
	// error log card declined logger billing
}

func ExampleNewLogSink() {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "" // keep the output stable
	sink := trail.NewLogSink(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(os.Stdout), zapcore.ErrorLevel)))

	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sink.Send(context.Background(), &trail.Report{
		ID: "6f1c0a1b2c3d4e5f60718293a4b5c6d7", Time: at, Message: "card declined",
		Errors:      []trail.ErrorInfo{{Type: "*errors.errorString", Message: "card declined"}},
		RequestID:   "req-42",
		Breadcrumbs: []trail.Breadcrumb{{Time: at, Level: trail.LevelInfo, Category: "default", Message: "cart loaded"}},
	})
	if err := sink.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"level":"error","msg":"error report","id":"6f1c0a1b2c3d4e5f60718293a4b5c6d7","timestamp":"2025-03-01T12:00:00Z","message":"card declined","errors":[{"type":"*errors.errorString","message":"card declined","depth":0}],"request_id":"req-42","breadcrumbs":[{"timestamp":"2025-03-01T12:00:00Z","level":"info","category":"default","message":"cart loaded"}]}
}

func ExampleStack() {
	load := func() error { return trail.Stack(io.ErrUnexpectedEOF) } // the stack is taken here
	r := trail.Capture(context.Background(), fmt.Errorf("import: %w", load()))
	fmt.Println(r.StackSource, strings.HasSuffix(r.Stack[0].Function, "ExampleStack.func1"))
	// Output:
	// error true
}
