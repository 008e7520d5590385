package spans_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The four hooks fire in the order of Node's async_hooks for work run with Run and Go; the
// parent span ID plays triggerAsyncId.
func Example_hooks() {
	var mu sync.Mutex // hooks may be called concurrently
	names := map[trace.SpanID]string{}
	p := spans.NewProcessor(spans.WithHooks(spans.Hooks{
		Init: func(i spans.InitInfo) {
			mu.Lock()
			defer mu.Unlock()
			names[i.SpanID()] = i.Type()
			fmt.Printf("init %s (trigger: %s)\n", i.Type(), names[i.ParentSpanID()])
		},
		Before: func(c spans.CallInfo) { fmt.Printf("before %s (async: %v)\n", c.Type, c.Async) },
		After:  func(a spans.AfterInfo) { fmt.Printf("after %s (err: %v)\n", a.Type, a.Err) },
		Destroy: func(d spans.DestroyInfo) {
			fmt.Printf("destroy %s (status: %s)\n", d.Type(), d.Status().Code)
		},
	}))
	ctx := context.Background()
	provider, err := ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(p), ctxtrail.WithoutExporter(), ctxtrail.WithoutGlobal())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = provider.Shutdown(ctx) }()

	err = spans.Run(ctx, "checkout", func(ctx context.Context) error {
		return spans.Go(ctx, "send receipt", func(context.Context) error {
			return errors.New("smtp: timeout")
		}).Wait()
	}, spans.WithTracerProvider(provider.TracerProvider()))
	fmt.Println("Run:", err)
	// Output:
	// init checkout (trigger: )
	// before checkout (async: false)
	// init send receipt (trigger: checkout)
	// before send receipt (async: true)
	// after send receipt (err: smtp: timeout)
	// destroy send receipt (status: Error)
	// after checkout (err: smtp: timeout)
	// destroy checkout (status: Error)
	// Run: smtp: timeout
}

func ExampleRunValue() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, root := tp.Tracer("example").Start(context.Background(), "request")
	defer root.End()

	total, err := spans.RunValue(ctx, "sum cart", func(ctx context.Context) (int, error) {
		ids := spans.IDsFrom(ctx)
		fmt.Println("same trace:", ids.TraceID == root.SpanContext().TraceID())
		fmt.Println("parent is the request:", ids.ParentSpanID == root.SpanContext().SpanID())
		return 42, nil
	})
	fmt.Println(total, err)
	// Output:
	// same trace: true
	// parent is the request: true
	// 42 <nil>
}

// A panic in a background task is recorded on its span and returned by Wait; it does not take
// the process down.
func ExampleGo() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()

	task := spans.Go(context.Background(), "resize image", func(context.Context) error {
		panic("image: unknown format")
	}, spans.WithTracerProvider(tp))
	err := task.Wait()
	var pe *spans.PanicError
	fmt.Println(errors.As(err, &pe), pe.Name, pe.Value)
	// Output:
	// true resize image image: unknown format
}

func ExampleGroup() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()

	g, ctx := spans.NewGroup(context.Background(), spans.WithLimit(2))
	var mu sync.Mutex
	sizes := map[string]int{}
	for _, file := range []string{"a.txt", "b.txt", "c.txt"} {
		g.Go("read "+file, func(context.Context) error {
			mu.Lock()
			sizes[file] = len(file)
			mu.Unlock()
			return nil
		}, spans.WithTracerProvider(tp))
	}
	fmt.Println(g.Wait(), len(sizes), ctx.Err())
	// Output:
	// <nil> 3 context canceled
}

func ExampleMonitor() {
	mon := spans.NewMonitor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(mon))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("example")

	ctx, req := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer))
	_, query := tracer.Start(ctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient))
	query.End()

	st := mon.Stats()
	fmt.Printf("created %d, ended %d, active %d\n", st.Created, st.Ended, st.Active)
	for _, n := range st.ByName {
		fmt.Printf("%s (%s): active %d\n", n.Name, n.Kind, n.Active)
	}
	for _, a := range mon.ActiveSpans(10) {
		fmt.Println("still active:", a.Name)
	}
	req.End()
	// Output:
	// created 2, ended 1, active 1
	// GET /orders (server): active 1
	// SELECT orders (client): active 0
	// still active: GET /orders
}

func ExampleMonitor_ServeHTTP() {
	mon := spans.NewMonitor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(mon))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, span := tp.Tracer("example").Start(context.Background(), "long poll")
	defer span.End()

	rec := httptest.NewRecorder()
	mon.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/ctxtrail?format=json", nil))
	var page struct {
		Stats struct {
			Active int `json:"active"`
		} `json:"stats"`
		Active []struct {
			Name string `json:"name"`
			Leak bool   `json:"leak"`
		} `json:"active"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&page); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Code, page.Stats.Active, page.Active[0].Name, page.Active[0].Leak)
	// Output:
	// 200 1 long poll false
}

func ExampleMonitor_Sampler() {
	mon := spans.NewMonitor()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(mon),
		sdktrace.WithSampler(mon.Sampler(sdktrace.NeverSample())),
	)
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for range 3 {
		_, span := tp.Tracer("example").Start(context.Background(), "health check")
		span.End()
	}
	st := mon.Stats()
	fmt.Printf("created %d, sampled out %d\n", st.Created, st.SampledOut)
	// Output:
	// created 0, sampled out 3
}
