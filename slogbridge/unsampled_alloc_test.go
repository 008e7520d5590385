package slogbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestAllocHandleUnsampled (issue 31): a record logged under a span the head sampler dropped
// still carries the trace and span IDs, and allocates no more than the plain JSONHandler given
// the same IDs precomputed, as under a recording span (TestAllocHandle).
func TestAllocHandleUnsampled(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	if span.IsRecording() {
		t.Fatal("the span records")
	}
	sc := span.SpanContext()
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	var out bytes.Buffer
	slog.New(NewHandler(slog.NewJSONHandler(&out, nil))).InfoContext(ctx, "m", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line[DefaultTraceIDKey] != tid || line[DefaultSpanIDKey] != sid || line[DefaultRequestIDKey] != "req-1" {
		t.Fatalf("record %v: want the unsampled span's IDs and req-1", line)
	}
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	plain := slog.New(slog.NewJSONHandler(io.Discard, nil))
	bridged := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	base := testing.AllocsPerRun(200, func() {
		plain.LogAttrs(ctx, slog.LevelInfo, "m", slog.String("trace_id", tid), slog.String("span_id", sid), slog.String("request_id", "req-1"), slog.Int("n", 1))
	})
	if got := testing.AllocsPerRun(200, func() { bridged.LogAttrs(ctx, slog.LevelInfo, "m", slog.Int("n", 1)) }); got > base {
		t.Fatalf("slogbridge under an unsampled span: %v allocations per record, plain JSONHandler with the IDs precomputed: %v", got, base)
	}
}
