package zapbridge

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkFieldsFor measures the enrichment alone: reading the context and building the
// field slice, without encoding. The full-line comparisons live in the benchmarks module.
func BenchmarkFieldsFor(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("b").Start(otelctx.WithRequestID(context.Background(), "req-00000001"), "s")
	defer span.End()
	store := otelctx.AddFields(ctx, attribute.String("user", "ada"), attribute.String("route", "/pay"))
	e := newEnricher(newConfig(nil))
	fields := []zap.Field{zap.String("card", "visa"), zap.Int("cents", 1250)}
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"Span", ctx}, {"Request", store}, {"Empty", context.Background()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = e.fieldsFor(bc.ctx, fields)
			}
		})
	}
}

// BenchmarkDisabled compares a line at a disabled level with plain zap's.
func BenchmarkDisabled(b *testing.B) {
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(discard{}), zapcore.InfoLevel)
	zl := zap.New(core)
	l := New(zl)
	ctx := otelctx.WithRequestID(context.Background(), "r")
	b.Run("PlainZapNoFields", func(b *testing.B) {
		for b.Loop() {
			zl.Debug("m")
		}
	})
	b.Run("CtxNoFields", func(b *testing.B) {
		for b.Loop() {
			l.Ctx(ctx).Debug("m")
		}
	})
	b.Run("DebugContextNoFields", func(b *testing.B) {
		for b.Loop() {
			l.DebugContext(ctx, "m")
		}
	})
	b.Run("FieldConstructionOnly", func(b *testing.B) {
		for b.Loop() {
			sinkFields(zap.String("card", "visa"), zap.Int("cents", 1250))
		}
	})
	b.Run("DebugContextFields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l.DebugContext(ctx, "m", zap.String("card", "visa"), zap.Int("cents", 1250))
		}
	})
}

// sinkFields takes fields and does nothing: the cost of building them at a call site.
//
//go:noinline
func sinkFields(...zap.Field) {}
