package trailzap

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkLogSinkSend is the request's side of the default sink: queueing a report.
func BenchmarkLogSinkSend(b *testing.B) {
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.ErrorLevel))
	sink := NewLogSink(log)
	b.Cleanup(func() { _ = sink.Shutdown(context.Background()) })
	r := trail.Capture(trail.Start(context.Background()), errors.New("boom"))
	b.ReportAllocs()
	for range b.N {
		sink.Send(context.Background(), r)
	}
}

// BenchmarkLogSinkWrite is the sink goroutine's side: one JSON log line for a report of 100
// crumbs, off the request path.
func BenchmarkLogSinkWrite(b *testing.B) {
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.ErrorLevel))
	sink := &LogSink{log: log} // no goroutine: write is called directly
	ctx := trail.Start(context.Background())
	for i := range 100 {
		trail.AddBreadcrumb(ctx, "step", attribute.Int("n", i))
	}
	r := trail.Capture(ctx, errors.New("boom"))
	b.ReportAllocs()
	for range b.N {
		sink.write(r)
	}
}
