package httpctx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace/noop"
)

// badHeaders returns ctxtrail.http.bad_headers by header, as rd collects it now.
func badHeaders(t *testing.T, rd *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ctxtrail.http.bad_headers" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if v, ok := dp.Attributes.Value(AttrHeader); ok && dp.Value != 0 {
					out[v.AsString()] += dp.Value
				}
			}
		}
	}
	return out
}

func badRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Traceparent", "garbage")
	return r
}

var nothing = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// quietErrors drops what the handlers' own limiters report through otel.Handle while t runs.
func quietErrors(t *testing.T) {
	old := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	t.Cleanup(func() { otel.SetErrorHandler(old) })
}

// A handler's own limiter (no WithProvider, no WithWarnLimiter) is published while the handler
// lives and released when it is gone: a long-lived meter provider does not keep the limiters
// of 2,000 handlers nobody holds any more (issue 28, goal 5).
func TestOwnWarnLimiterReleasedWithHandler(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	quietErrors(t)

	const n = 2000
	handlers := make([]http.Handler, n)
	for i := range handlers {
		handlers[i] = NewHandler(nothing, WithTracerProvider(noop.NewTracerProvider()), WithMeterProvider(mp))
		handlers[i].ServeHTTP(httptest.NewRecorder(), badRequest())
	}
	if got := badHeaders(t, rd)["traceparent"]; got != n {
		t.Fatalf("%d live handlers published %d bad traceparents, want %d", n, got, n)
	}
	runtime.KeepAlive(handlers)
	handlers = nil
	// Cleanups run on their own goroutine after a collection: wait for them, boundedly.
	var got int64
	for range 100 {
		runtime.GC()
		if got = badHeaders(t, rd)["traceparent"]; got == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != 0 {
		t.Fatalf("after the handlers were dropped the meter provider still reads %d bad traceparents: their limiters are kept", got)
	}
}

// A handler's own limiter follows the meter provider the handler records with: when the global
// provider changes, the old one stops reading the limiter.
func TestOwnWarnLimiterMovesWithProvider(t *testing.T) {
	rd1, rd2 := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	mp1 := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd1))
	mp2 := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd2))
	t.Cleanup(func() { _ = mp1.Shutdown(context.Background()); _ = mp2.Shutdown(context.Background()) })
	quietErrors(t)
	h := NewHandler(nothing, WithTracerProvider(noop.NewTracerProvider()))
	c := &h.(*handler).cfg // as a global meter provider that changes would
	c.mp = mp1
	h.ServeHTTP(httptest.NewRecorder(), badRequest())
	c.mp = mp2
	h.ServeHTTP(httptest.NewRecorder(), badRequest())
	if got1, got2 := badHeaders(t, rd1)["traceparent"], badHeaders(t, rd2)["traceparent"]; got1 != 0 || got2 != 2 {
		t.Fatalf("old provider reads %d, new one %d; want 0 and 2", got1, got2)
	}
}

// A limiter given with WithWarnLimiter is the caller's: the handler registers it nowhere, and
// RegisterMetrics publishes it until its Registration is unregistered. Limiters on one provider
// add up.
func TestWarnLimiterRegisterMetrics(t *testing.T) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	a, b := propagators.NewWarnLimiter(time.Hour, func(error) {}), propagators.NewWarnLimiter(time.Hour, func(error) {})
	for _, l := range []*propagators.WarnLimiter{a, b} {
		NewHandler(nothing, WithTracerProvider(noop.NewTracerProvider()), WithMeterProvider(mp), WithWarnLimiter(l)).
			ServeHTTP(httptest.NewRecorder(), badRequest())
	}
	if got := badHeaders(t, rd); len(got) != 0 {
		t.Fatalf("unregistered limiters published %v", got)
	}
	ra, err := a.RegisterMetrics(mp)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.RegisterMetrics(mp)
	if err != nil {
		t.Fatal(err)
	}
	if got := badHeaders(t, rd)["traceparent"]; got != 2 {
		t.Fatalf("two registered limiters publish %d bad traceparents, want 2", got)
	}
	if err := ra.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := badHeaders(t, rd)["traceparent"]; got != 1 {
		t.Fatalf("after one Unregister: %d, want 1", got)
	}
	_ = rb.Unregister()
}
