package zapbridge

import (
	"context"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Lines logged in a span's context reach the waterfall with their own fields, through the
// Logger and through a core made by NewCore; lines without a span do not; the user's own
// output is unchanged.
func TestWithWaterfall(t *testing.T) {
	var out lines
	printer := waterfall.New(&out)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(printer))
	defer tp.Shutdown(context.Background())

	var plain, bridged lines
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = ""
	newZap := func(w zapcore.WriteSyncer) *zap.Logger {
		return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), w, zap.InfoLevel))
	}
	log := New(newZap(&bridged), WithWaterfall(printer))
	ref := New(newZap(&plain))

	ctx, root := tp.Tracer("t").Start(context.Background(), "request")
	ctx = otelctx.AddFields(ctx, attribute.String("enduser.id", "ada"))
	for _, l := range []*Logger{log, ref} {
		l.Ctx(ctx).Warn("charge declined", zap.Int64("cents", 1500), zap.Error(context.Canceled))
		l.Zap().Info("through the core", Context(ctx), zap.String("k", "v"))
		l.Ctx(context.Background()).Info("no span")
		l.Ctx(ctx).Debug("below the level")
	}
	root.End()
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bridged.String() != plain.String() {
		t.Errorf("the waterfall changed the log output:\n%s\nwant:\n%s", bridged.String(), plain.String())
	}
	got := out.String()
	for _, want := range []string{
		`warn   charge declined  cents=1500 error="context canceled"`,
		`info   through the core  k=v`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("waterfall lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"no span", "below the level", "enduser.id", "trace_id"} {
		if strings.Contains(got, not) {
			t.Errorf("waterfall has %q:\n%s", not, got)
		}
	}
	if st := printer.Stats(); st.LinesQueued != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A nil Printer (Provider.Waterfall when the waterfall was not chosen, a typed nil in the
// LineWriter) does nothing, and costs no work per line: the option drops it.
func TestWithWaterfallNil(t *testing.T) {
	var none *waterfall.Printer
	if c := WithWaterfall(none).apply(config{}); c.waterfall != nil {
		t.Fatalf("WithWaterfall of a nil *Printer kept %v", c.waterfall)
	}
	var w lines
	log := New(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), &w, zap.InfoLevel)), WithWaterfall(none))
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("t").Start(context.Background(), "x")
	defer span.End()
	log.Ctx(ctx).Info("hello")
	if !strings.Contains(w.String(), "hello") {
		t.Fatal("line not written")
	}
}
