package trail

import (
	"context"
	"errors"
	"io"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestAllocCrumbNowhere: a crumb where no trail and no span keep it costs no allocation.
func TestAllocCrumbNowhere(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ctx := context.Background()
	data := []attribute.KeyValue{attribute.String("item", "book"), attribute.Int("qty", 2)}
	if n := testing.AllocsPerRun(200, func() { AddBreadcrumb(ctx, "added to cart", data...) }); n != 0 {
		t.Errorf("AddBreadcrumb without a trail or span allocates %v times, want 0", n)
	}
}

// TestAllocLogSinkSend: the request's side of the default sink, queueing a report, allocates
// nothing; encoding happens on the sink's goroutine.
func TestAllocLogSinkSend(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.ErrorLevel))
	sink := NewLogSink(log)
	t.Cleanup(func() { _ = sink.Shutdown(context.Background()) })
	r := Capture(Start(context.Background()), errors.New("boom"))
	if n := testing.AllocsPerRun(200, func() { sink.Send(context.Background(), r) }); n != 0 {
		t.Errorf("LogSink.Send allocates %v times, want 0", n)
	}
}
