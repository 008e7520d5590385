package httpctx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func ExampleNewHandler() {
	// A service behind the middleware; a real one would use ctxtrail.Install and its Provider.
	tp := sdktrace.NewTracerProvider()
	prop := propagators.New() // what Install sets by default: W3C trace context, baggage, x-headers
	srv := httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		fmt.Println("handler: request", otelctx.RequestID(ctx), "trace", trace.SpanContextFromContext(ctx).TraceID())
		for kv := range otelctx.FieldsFrom(ctx).All() {
			fmt.Printf("handler: field %s=%s\n", kv.Key, kv.Value.String())
		}
	}), httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop)))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/42", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("x-request-id", "order-42")
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("response: x-trace-id", resp.Header.Get("x-trace-id"))
	fmt.Println("response: x-request-id", resp.Header.Get("x-request-id"))
	// Output:
	// handler: request order-42 trace 4bf92f3577b34da6a3ce929d0e0e4736
	// handler: field http.request.method=GET
	// handler: field url.path=/orders/42
	// response: x-trace-id 4bf92f3577b34da6a3ce929d0e0e4736
	// response: x-request-id order-42
}

func ExampleNewTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("server got x-request-id:", r.Header.Get("x-request-id"))
		fmt.Println("server got traceparent:", r.Header.Get("traceparent") != "")
		fmt.Println("server got x-trace-id:", len(r.Header.Get("x-trace-id")) == 32)
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpctx.NewTransport(base,
		httpctx.WithTracerProvider(sdktrace.NewTracerProvider()),
		httpctx.WithPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagators.XTrace{})))}

	ctx := otelctx.WithRequestID(context.Background(), "job-7")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Output:
	// server got x-request-id: job-7
	// server got traceparent: true
	// server got x-trace-id: true
}
