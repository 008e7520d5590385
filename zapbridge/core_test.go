package zapbridge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestCoreOverATeeKeepsEachCoresLevel(t *testing.T) {
	info, infoSink := jsonCore(zapcore.InfoLevel)
	errs, errSink := jsonCore(zapcore.ErrorLevel)
	zl := zap.New(NewCore(zapcore.NewTee(info, errs)))
	ctx := otelctx.WithRequestID(context.Background(), "r")
	zl.Info("info line", Context(ctx))
	zl.Error("error line", Context(ctx))
	zl.Debug("debug line", Context(ctx))

	if got := infoSink.parse(t); len(got) != 2 || got[0]["request_id"] != "r" || got[1]["request_id"] != "r" {
		t.Errorf("info core got %v, want the info and error lines, enriched", got)
	}
	if got := errSink.parse(t); len(got) != 1 || got[0]["msg"] != "error line" || got[0]["request_id"] != "r" {
		t.Errorf("error core got %v, want only the error line, enriched", got)
	}
}

func TestCoreInsideATeeEnrichesOnlyItsOwnCore(t *testing.T) {
	ctx := otelctx.WithRequestID(context.Background(), "r")
	for _, bridgeFirst := range []bool{true, false} {
		bridged, bridgedSink := jsonCore(zapcore.DebugLevel)
		plain, plainSink := jsonCore(zapcore.DebugLevel)
		cores := []zapcore.Core{NewCore(bridged), plain}
		if !bridgeFirst {
			cores[0], cores[1] = cores[1], cores[0]
		}
		zap.New(zapcore.NewTee(cores...)).Info("m", Context(ctx))
		if got := bridgedSink.one(t); got["request_id"] != "r" {
			t.Errorf("bridgeFirst=%v: bridged core line %v", bridgeFirst, got)
		}
		if got := plainSink.one(t); got["request_id"] != nil || got[contextKey] != nil {
			t.Errorf("bridgeFirst=%v: plain core line %v, want it as logged", bridgeFirst, got)
		}
	}
}

func TestNestedCoresEnrichOnce(t *testing.T) {
	tr, _ := tracer(t)
	c, sink := jsonCore(zapcore.DebugLevel)
	zl := zap.New(NewCore(NewCore(c)))
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	zl.Info("per line", Context(ctx))
	zl.With(Context(ctx)).Info("with")
	span.End()
	for _, l := range strings.Split(strings.TrimSpace(sink.String()), "\n") {
		if n := strings.Count(l, `"trace_id"`); n != 1 {
			t.Errorf("trace_id %d times in %s", n, l)
		}
	}
	if n := len(sink.parse(t)); n != 2 {
		t.Fatalf("%d lines, want 2", n)
	}
}

func TestCoreWithContextBakesFieldsOnce(t *testing.T) {
	tr, rec := tracer(t)
	c, sink := jsonCore(zapcore.DebugLevel)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	traceID, spanID := ids(span)
	zl := zap.New(NewCore(c)).With(Context(ctx), zap.String("component", "db"))
	zl.Info("one")
	zl.Error("two") // marks the With context's span
	span.End()
	for _, line := range sink.parse(t) {
		if line["trace_id"] != traceID || line["span_id"] != spanID || line["request_id"] != "r" || line["component"] != "db" {
			t.Errorf("line %v", line)
		}
	}
	if st := rec.Ended()[0].Status(); st.Description != "two" {
		t.Errorf("span status %v, want the error line's", st)
	}
}

func TestContextFieldPassesToContextAwareCores(t *testing.T) {
	// A downstream core that looks for a context.Context in fields (as the contrib otelzap bridge
	// does) still finds it after enrichment.
	obs, logs := observer.New(zapcore.DebugLevel)
	ctx := otelctx.WithRequestID(context.Background(), "r")
	zap.New(NewCore(obs)).Info("m", Context(ctx))
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	var found bool
	for _, f := range entries[0].Context {
		if got, ok := f.Interface.(context.Context); ok && got == ctx && f.Type == zapcore.SkipType {
			found = true
		}
	}
	if !found {
		t.Fatalf("no context field downstream: %v", entries[0].Context)
	}
	if entries[0].ContextMap()["request_id"] != "r" {
		t.Fatalf("fields %v", entries[0].ContextMap())
	}
}

func TestContextFieldOnAPlainLoggerIsSkipped(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	zap.New(c).Info("m", Context(otelctx.WithRequestID(context.Background(), "r")), Context(nil))
	if got := sink.one(t); len(got) != 2 { // level and msg
		t.Fatalf("plain core wrote %v", got)
	}
}

func TestCoreNilContextAndNilInner(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	zap.New(NewCore(c)).Info("m", Context(nil))
	if got := sink.one(t); got["trace_id"] != nil || got["request_id"] != nil {
		t.Fatalf("line %v", got)
	}
	nop := NewCore(nil)
	if nop.Enabled(zapcore.FatalLevel) {
		t.Fatal("a core over nil logs")
	}
	zap.New(nop).Info("m", Context(context.Background()))
}

func TestCoreKeepsASamplersDecision(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	sampled := zapcore.NewSamplerWithOptions(c, time.Hour, 1, 0)
	zl := zap.New(NewCore(sampled))
	for range 5 {
		zl.Info("same", Context(context.Background()))
	}
	if n := len(sink.parse(t)); n != 1 {
		t.Fatalf("%d lines through a first=1 sampler, want 1", n)
	}
}

func TestCoreLevelAndSync(t *testing.T) {
	c, _ := jsonCore(zapcore.WarnLevel)
	core := NewCore(c)
	if got := zapcore.LevelOf(core); got != zapcore.WarnLevel {
		t.Fatalf("level %v, want warn", got)
	}
	if err := core.Sync(); err != nil {
		t.Fatal(err)
	}
}

type failingSink struct{}

func (failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }
func (failingSink) Sync() error               { return nil }

func TestCoreReportsWriteErrors(t *testing.T) {
	errOut := &lines{}
	inner := zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), failingSink{}, zapcore.DebugLevel)
	zap.New(NewCore(inner, WithErrorOutput(errOut))).Info("m", Context(context.Background()))
	if !strings.Contains(errOut.String(), "disk full") {
		t.Fatalf("error output %q, want the write error", errOut.String())
	}
}

func TestCoreFieldsWithoutContextPassThrough(t *testing.T) {
	obs, logs := observer.New(zapcore.DebugLevel)
	fields := []zap.Field{zap.String("a", "b"), zap.Int("n", 1)}
	zap.New(NewCore(obs)).Info("m", fields...)
	got := logs.All()[0].Context
	if len(got) != 2 || !got[0].Equals(fields[0]) || !got[1].Equals(fields[1]) {
		t.Fatalf("fields %v, want %v unchanged", got, fields)
	}
}

func TestAttrFieldFallbacks(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	ctx := otelctx.AddFields(context.Background(),
		attribute.ByteSlice("raw", []byte("hi")),
		attribute.Slice("nested", attribute.SliceValue(attribute.BoolValue(true), attribute.Float64Value(2.5)),
			attribute.MapValue(attribute.String("k", "v")), attribute.ByteSliceValue([]byte("x"))),
	)
	New(zap.New(c)).InfoContext(ctx, "m")
	line := sink.one(t)
	if line["raw"] != "aGk=" {
		t.Errorf("raw = %v, want base64 aGk=", line["raw"])
	}
	nested, _ := line["nested"].([]any)
	if len(nested) != 3 {
		t.Fatalf("nested = %#v", line["nested"])
	}
	if inner, _ := nested[0].([]any); len(inner) != 2 || inner[0] != true || inner[1] != 2.5 {
		t.Errorf("nested[0] = %#v", nested[0])
	}
	if m, _ := nested[1].(map[string]any); m["k"] != "v" {
		t.Errorf("nested[1] = %#v", nested[1])
	}
	if nested[2] != "eA==" {
		t.Errorf("nested[2] = %#v", nested[2])
	}
}
