package evidence_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// The Recorder's middleware goes inside httpctx.NewHandler, where the server span and the
// route are known. Here the labels are armed: the handler's context (and every goroutine it
// starts) carries the route and the trace, for a CPU profile sliced by route.
func ExampleRecorder_Middleware() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	rec, err := evidence.New(evidence.WithProfileLabels(), evidence.WithLeftBehind(5*time.Second, 10*time.Second))
	if err != nil {
		panic(err)
	}
	defer func() { _ = rec.Shutdown(context.Background()) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /report/{id}", func(w http.ResponseWriter, r *http.Request) {
		route, _ := pprof.Label(r.Context(), evidence.LabelRoute)
		fmt.Fprint(w, route)
	})
	srv := httptest.NewServer(httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(tp)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/report/7")
	if err != nil {
		panic(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var route string
	_, _ = fmt.Fscan(resp.Body, &route)
	fmt.Println("route label:", route)
	// Output: route label: /report/{id}
}

// With the flight recorder armed and its export hold in front of Install's exporters, the
// exported server span of a slow request carries the capture's breakdown: here a request waits
// 150ms on a lock held elsewhere, over its route's 50ms threshold. (Without Install, wrap your
// own exporting processor: rec.WrapProcessor(sdktrace.NewBatchSpanProcessor(exp)).)
func ExampleRecorder_WrapProcessor() {
	rec, err := evidence.New(evidence.WithFlightRecorder(time.Second), evidence.WithRouteThreshold("/stock", 50*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer func() { _ = rec.Shutdown(context.Background()) }()
	exp := tracetest.NewInMemoryExporter()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutMetrics(),
		ctxtrail.WithExporter(exp), ctxtrail.WithSpanExportHold(rec))
	if err != nil {
		panic(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()

	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // a reindex holds it
		defer mu.Unlock()
	})
	srv := httptest.NewServer(httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(p.TracerProvider())))
	defer srv.Close()

	mu.Lock()
	time.AfterFunc(150*time.Millisecond, mu.Unlock)
	resp, err := http.Get(srv.URL + "/stock")
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	// Wait for the capture to be read: the held span is exported once it is.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c := rec.Snapshot().Captures; len(c) == 1 && c[0].State != "pending" {
			break
		}
	}
	_ = p.ForceFlush(context.Background())
	for _, s := range exp.GetSpans() {
		attrs := attribute.NewSet(s.Attributes...)
		id, _ := attrs.Value(evidence.AttrCaptureID)
		blocked, _ := attrs.Value(evidence.AttrBlockedMs)
		fmt.Printf("%s: capture %s, blocked over 100ms: %v\n", s.Name, id.AsString(), blocked.AsFloat64() > 100)
	}
	// Output: GET /stock: capture c1, blocked over 100ms: true
}
