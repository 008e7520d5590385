package baggage

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The benchmarks compare, in one run, the SDK's propagation.Baggage with this package's pieces
// on what one request pays: no baggage header at all, and a header of four members (user,
// tenant, session, a counter) of which the policy lets in and copies two or four.

const (
	benchTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	benchBaggage     = "user.id=alice@example.com,tenant.id=acme,session.id=sess-42,retry.count=3"
)

var benchHeaders = []struct {
	name string
	h    http.Header
}{
	{"baggage=none", http.Header{"Traceparent": {benchTraceparent}}},
	{"baggage=4", http.Header{"Traceparent": {benchTraceparent}, "Baggage": {benchBaggage}}},
}

var (
	benchAllow = Keys(KeyUserID, KeyTenantID, KeySessionID, "retry.count")
	benchDeny  = Keys("auth.token")
	benchCopy  = Keys(KeyUserID, KeyTenantID)
)

// BenchmarkExtract: reading the incoming header into the context, with the inbound allowlist.
func BenchmarkExtract(b *testing.B) {
	ours := NewPropagator(WithAllow(benchAllow))
	impls := []struct {
		name string
		fn   func(context.Context, http.Header) context.Context
	}{
		{"impl=sdk", func(ctx context.Context, h http.Header) context.Context {
			return propagation.Baggage{}.Extract(ctx, propagation.HeaderCarrier(h))
		}},
		{"impl=sdk+Allow", func(ctx context.Context, h http.Header) context.Context {
			return Restrict(propagation.Baggage{}.Extract(ctx, propagation.HeaderCarrier(h)), benchAllow)
		}},
		{"impl=ctxtrail", func(ctx context.Context, h http.Header) context.Context {
			return ours.Extract(ctx, propagation.HeaderCarrier(h))
		}},
	}
	for _, hc := range benchHeaders {
		for _, impl := range impls {
			b.Run(hc.name+"/"+impl.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_ = impl.fn(ctx, hc.h)
				}
			})
		}
	}
}

// BenchmarkInject: writing the context's baggage on an outgoing request, with the outbound
// denylist.
func BenchmarkInject(b *testing.B) {
	impls := []struct {
		name string
		p    propagation.TextMapPropagator
	}{
		{"impl=sdk", propagation.Baggage{}},
		{"impl=sdk+Deny", Deny(propagation.Baggage{}, benchDeny)},
		{"impl=ctxtrail", Deny(NewPropagator(), benchDeny)},
	}
	for _, hc := range benchHeaders {
		ctx := propagation.Baggage{}.Extract(context.Background(), propagation.HeaderCarrier(hc.h))
		for _, impl := range impls {
			b.Run(hc.name+"/"+impl.name, func(b *testing.B) {
				out := propagation.HeaderCarrier(http.Header{})
				b.ReportAllocs()
				for b.Loop() {
					impl.p.Inject(ctx, out)
				}
			})
		}
	}
}

// BenchmarkRequest: the whole baggage path of one request through a service: extract the
// incoming header, apply the inbound policy, start and end the server span (copying members onto
// it), gather the log fields, inject on one outgoing call. impl=sdk is the baseline with the
// SDK's propagator and no policy, no copying, no log fields; impl=ctxtrail adds all of ours.
func BenchmarkRequest(b *testing.B) {
	// Both providers end in the same do-nothing processor, standing for the exporter's batch
	// processor: with none, the SDK skips the end-of-span snapshot and the comparison is off.
	plain := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(nopProcessor{}))
	copying := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(NewSpanProcessor(benchCopy)), sdktrace.WithSpanProcessor(nopProcessor{}))
	b.Cleanup(func() {
		_ = plain.Shutdown(context.Background())
		_ = copying.Shutdown(context.Background())
	})
	inOurs := NewPropagator(WithAllow(benchAllow))
	outOurs := Deny(NewPropagator(), benchDeny)
	type impl struct {
		name string
		in   func(context.Context, http.Header) context.Context
		tp   trace.TracerProvider
		out  propagation.TextMapPropagator
		logs bool
	}
	impls := []impl{
		{"impl=sdk", func(ctx context.Context, h http.Header) context.Context {
			return propagation.Baggage{}.Extract(ctx, propagation.HeaderCarrier(h))
		}, plain, propagation.Baggage{}, false},
		{"impl=ctxtrail", func(ctx context.Context, h http.Header) context.Context {
			return inOurs.Extract(ctx, propagation.HeaderCarrier(h))
		}, copying, outOurs, true},
	}
	for _, hc := range benchHeaders {
		for _, im := range impls {
			b.Run(hc.name+"/"+im.name, func(b *testing.B) {
				tracer := im.tp.Tracer("bench")
				out := propagation.HeaderCarrier(http.Header{})
				fields := make([]attribute.KeyValue, 0, 8)
				b.ReportAllocs()
				for b.Loop() {
					ctx := im.in(context.Background(), hc.h)
					ctx, span := tracer.Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindServer))
					if im.logs {
						fields = AppendAttributes(fields[:0], ctx, benchCopy)
					}
					im.out.Inject(ctx, out)
					span.End()
				}
				_ = fields
			})
		}
	}
}

// BenchmarkMember: setting and reading a typed member.
func BenchmarkMember(b *testing.B) {
	tenant := TenantID()
	b.Run("op=Set/impl=ctxtrail", func(b *testing.B) {
		ctx := ctxWith(b, KeyUserID, "alice@example.com")
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tenant.Set(ctx, "acme")
		}
	})
	b.Run("op=Get/impl=ctxtrail", func(b *testing.B) {
		ctx, _ := tenant.Set(ctxWith(b, KeyUserID, "alice@example.com"), "acme")
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tenant.Get(ctx)
		}
	})
}

type nopProcessor struct{}

func (nopProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (nopProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (nopProcessor) Shutdown(context.Context) error                  { return nil }
func (nopProcessor) ForceFlush(context.Context) error                { return nil }
