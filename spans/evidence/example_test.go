package evidence_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
