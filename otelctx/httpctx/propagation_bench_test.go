package httpctx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
)

// The benchmarks compare ctxtrail's composite (W3C tracecontext + baggage + xtrace, what
// Install sets by default) and its fused form (propagators.New) with the SDK's TraceContext alone, through the SDK's
// propagation.HeaderCarrier (what otelhttp uses), propagators.HeaderCarrier and a MapCarrier.
// Run: go test -run '^$' -bench 'Inject|Extract' -count 6 ./otelctx

type pbCarrier struct {
	name string
	wrap func(http.Header) propagation.TextMapCarrier
}

var pbCarriers = []pbCarrier{
	{"sdk-header", func(h http.Header) propagation.TextMapCarrier { return propagation.HeaderCarrier(h) }},
	{"ctxtrail-header", func(h http.Header) propagation.TextMapCarrier { return propagators.HeaderCarrier(h) }},
}

type pbProp struct {
	name string
	p    propagation.TextMapPropagator
}

func pbProps() []pbProp {
	return []pbProp{
		{"sdk-tracecontext", propagation.TraceContext{}},
		{"ctxtrail-composite", xtComposite()},
		{"ctxtrail-fused", propagators.New()},
	}
}

func BenchmarkInject(b *testing.B) {
	tid, _ := trace.TraceIDFromHex(xtTraceID)
	sid, _ := trace.SpanIDFromHex(xtSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = otelctx.WithRequestID(ctx, "3f1c2a9e-7b4d-4c1e-9a52-0d6f8e2b1c3a")
	for _, p := range pbProps() {
		for _, c := range pbCarriers {
			b.Run("prop="+p.name+"/carrier="+c.name, func(b *testing.B) {
				h := make(http.Header, 8)
				carrier := c.wrap(h)
				b.ReportAllocs()
				for b.Loop() {
					clear(h)
					p.p.Inject(ctx, carrier)
				}
			})
		}
		b.Run("prop="+p.name+"/carrier=map", func(b *testing.B) {
			m := make(propagation.MapCarrier, 8)
			b.ReportAllocs()
			for b.Loop() {
				clear(m)
				p.p.Inject(ctx, m)
			}
		})
	}
}

func BenchmarkExtract(b *testing.B) {
	common := func() http.Header {
		return http.Header{
			"Accept":          {"application/json"},
			"User-Agent":      {"bench/1.0"},
			"Accept-Encoding": {"gzip"},
		}
	}
	none := common()
	tp := common()
	tp.Set("traceparent", "00-"+xtTraceID+"-"+xtSpanID+"-01")
	full := common()
	full.Set("traceparent", "00-"+xtTraceID+"-"+xtSpanID+"-01")
	full.Set("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	full.Set("baggage", "tenant=acme,user=42")
	full.Set("x-trace-id", xtTraceID)
	full.Set("x-span-id", xtSpanID)
	full.Set("x-request-id", "3f1c2a9e-7b4d-4c1e-9a52-0d6f8e2b1c3a")
	inputs := []struct {
		name string
		h    http.Header
	}{{"no-trace-headers", none}, {"traceparent", tp}, {"all-headers", full}}
	ctx := context.Background()
	for _, in := range inputs {
		for _, p := range pbProps() {
			for _, c := range pbCarriers {
				b.Run("headers="+in.name+"/prop="+p.name+"/carrier="+c.name, func(b *testing.B) {
					carrier := c.wrap(in.h)
					b.ReportAllocs()
					for b.Loop() {
						_ = p.p.Extract(ctx, carrier)
					}
				})
			}
		}
	}
}

// BenchmarkHandler measures the whole middleware for one request, with no network: extraction,
// server span, request store, response headers. It is context for the later otelhttp comparison.
func BenchmarkHandler(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), httpctx.WithTracerProvider(tp), httpctx.WithPropagator(xtComposite()),
		httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {})))
	inputs := map[string]func(*http.Request){
		"no-trace-headers": func(*http.Request) {},
		"traceparent": func(r *http.Request) {
			r.Header.Set("traceparent", "00-"+xtTraceID+"-"+xtSpanID+"-01")
			r.Header.Set("x-request-id", "req-1")
		},
	}
	for _, name := range []string{"no-trace-headers", "traceparent"} {
		b.Run("headers="+name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
			inputs[name](r)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				clear(w.Header())
				h.ServeHTTP(w, r)
			}
		})
	}
}

// xtComposite is the composite of the SDK's W3C propagators and XTrace, unfused.
func xtComposite() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
}

const (
	xtTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	xtSpanID  = "00f067aa0ba902b7"
)
