//go:build unix

package zapbridge

import (
	"context"
	"io"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/otelctx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type benchServerKey struct{}

var (
	benchSinkN     int
	benchSinkCache logctx.IDCache
)

// BenchmarkEnrichPaired splits what an enriched line adds over plain zap given the two IDs as
// precomputed strings (the goal's baseline, benchmarks/zapbridge_test.go) into its parts, each
// paired with that baseline (internal/pairbench): each part's work followed by the baseline line,
// so cpu-diff-ns/op is the part's cost. The context is a bare span's under a cancel context
// and one value, as in the benchmarks module's Span scenario.
func BenchmarkEnrichPaired(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), benchServerKey{}, "srv"))
	defer cancel()
	ctx, span := tp.Tracer("b").Start(ctx, "s")
	defer span.End()
	sc := span.SpanContext()
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	zl := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	l := New(zl)
	base := func() {
		zl.Info("charged card", zap.String("trace_id", tid), zap.String("span_id", sid), zap.String("card", "visa"), zap.Int("cents", 1250))
	}
	parts := []struct {
		name string
		f    func()
	}{
		{"AA", base},
		{"span-lookup", func() { // SpanFromContext and its SpanContext
			benchSinkN += int(trace.SpanFromContext(ctx).SpanContext().TraceID()[0])
			base()
		}},
		{"span-lookup+id-cache", func() {
			sp := trace.SpanFromContext(ctx)
			sc := sp.SpanContext()
			benchSinkN += len(benchSinkCache.Lookup(ctx, sp, sc.TraceID(), sc.SpanID()).Trace)
			base()
		}},
		{"request-id-lookup", func() { benchSinkN += len(otelctx.RequestID(ctx)); base() }},
		{"store-lookup", func() { benchSinkN += otelctx.FieldsFrom(ctx).Len(); base() }},
		{"gather", func() { // all of the above, as a line does them
			_, n := l.e.gather(ctx)
			benchSinkN += n
			base()
		}},
		{"whole-line", func() { l.Ctx(ctx).Info("charged card", zap.String("card", "visa"), zap.Int("cents", 1250)) }},
	}
	for _, p := range parts {
		b.Run("part="+p.name, func(b *testing.B) {
			loop := func(f func()) func(int) {
				return func(n int) {
					for range n {
						f()
					}
				}
			}
			r := pairbench.Run(b, 1024, loop(base), loop(p.f))
			b.ReportMetric(r.CPUDiff, "cpu-diff-ns/op")
			b.ReportMetric(r.WallDiff, "diff-ns/op")
		})
	}
}
