package slogbridge

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestAllocHandle: a record through slogbridge over a JSONHandler allocates no more than the
// same record through the JSONHandler alone with the two IDs passed as precomputed attributes;
// a disabled level allocates nothing.
func TestAllocHandle(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	sc := span.SpanContext()
	tid, sid := sc.TraceID().String(), sc.SpanID().String()

	plain := slog.New(slog.NewJSONHandler(io.Discard, nil))
	bridged := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	base := testing.AllocsPerRun(200, func() {
		plain.LogAttrs(ctx, slog.LevelInfo, "charged", slog.String("trace_id", tid), slog.String("span_id", sid), slog.Int("cents", 1250), slog.String("card", "visa"))
	})
	got := testing.AllocsPerRun(200, func() {
		bridged.LogAttrs(ctx, slog.LevelInfo, "charged", slog.Int("cents", 1250), slog.String("card", "visa"))
	})
	t.Logf("allocations per record: slogbridge %v, plain %v", got, base)
	if got > base {
		t.Fatalf("slogbridge: %v allocations per record, plain JSONHandler with the IDs precomputed: %v", got, base)
	}
	if n := testing.AllocsPerRun(200, func() { bridged.LogAttrs(ctx, slog.LevelDebug, "hidden", slog.Int("cents", 1250)) }); n != 0 {
		t.Fatalf("disabled level: %v allocations", n)
	}
	// No span, no IDs: still nothing beyond the plain handler's.
	base = testing.AllocsPerRun(200, func() { plain.Info("m", "k", 1) })
	if n := testing.AllocsPerRun(200, func() { bridged.Info("m", "k", 1) }); n > base {
		t.Fatalf("without context: %v allocations, plain %v", n, base)
	}
}
