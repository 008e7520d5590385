package trailzap

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestAllocLogSinkSend: the request's side of the default sink, queueing a report, allocates
// nothing; encoding happens on the sink's goroutine.
func TestAllocLogSinkSend(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.ErrorLevel))
	sink := NewLogSink(log)
	t.Cleanup(func() { _ = sink.Shutdown(context.Background()) })
	r := trail.Capture(trail.Start(context.Background()), errors.New("boom"))
	if n := testing.AllocsPerRun(200, func() { sink.Send(context.Background(), r) }); n != 0 {
		t.Errorf("LogSink.Send allocates %v times, want 0", n)
	}
}
