package zapbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestAllocLineUnsampled (issue 31): a line logged under a span the head sampler dropped still
// carries the trace and span IDs, and costs what a line under a recording span costs: zap's own
// allocation, the IDs encoded once per span.
func TestAllocLineUnsampled(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	if span.IsRecording() {
		t.Fatal("the span records")
	}
	var out bytes.Buffer
	l := New(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), zapcore.AddSync(&out), zapcore.InfoLevel)))
	l.Ctx(ctx).Info("m", zap.Int("n", 1))
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	if line[DefaultTraceIDKey] != sc.TraceID().String() || line[DefaultSpanIDKey] != sc.SpanID().String() || line[DefaultRequestIDKey] != "req-1" {
		t.Fatalf("line %v: want the unsampled span's IDs and req-1", line)
	}
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	l = New(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), zapcore.AddSync(discard{}), zapcore.InfoLevel)))
	if got := testing.AllocsPerRun(200, func() { l.Ctx(ctx).Info("m", zap.Int("n", 1)) }); got > 1 {
		t.Fatalf("%v allocations per line under an unsampled span, want at most 1 (zap's own)", got)
	}
}
