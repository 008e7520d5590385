package slogbridge

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type waterfallOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *waterfallOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Records logged in a span's context reach the waterfall with their own attributes, under their
// groups; records without a span do not; the next handler's output is unchanged.
func TestWithWaterfall(t *testing.T) {
	var out waterfallOut
	printer := waterfall.New(&out)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(printer))
	defer tp.Shutdown(context.Background())

	noTime := &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if len(g) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	var plain, bridged bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&bridged, noTime), WithWaterfall(printer))).With("service", "front")
	ref := slog.New(NewHandler(slog.NewJSONHandler(&plain, noTime))).With("service", "front")

	ctx, root := tp.Tracer("t").Start(context.Background(), "request")
	ctx = otelctx.AddFields(ctx, attribute.String("enduser.id", "ada"))
	for _, l := range []*slog.Logger{log, ref} {
		l.WarnContext(ctx, "charge declined", "cents", 1500, "error", "card declined")
		l.WithGroup("db").InfoContext(ctx, "queried", "rows", 3)
		l.InfoContext(context.Background(), "no span")
		l.DebugContext(ctx, "below the level")
	}
	root.End()
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bridged.String() != plain.String() {
		t.Errorf("the waterfall changed the handler's output:\n%s\nwant:\n%s", bridged.String(), plain.String())
	}
	got := out.buf.String()
	for _, want := range []string{`warn   charge declined  cents=1500 error="card declined"`, "info   queried  db.rows=3"} {
		if !strings.Contains(got, want) {
			t.Errorf("waterfall lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"no span", "below the level", "enduser.id", "service=", "trace_id"} {
		if strings.Contains(got, not) {
			t.Errorf("waterfall has %q:\n%s", not, got)
		}
	}
}
