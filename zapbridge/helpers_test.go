package zapbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// lines is a goroutine-safe sink that zap writes JSON lines into.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *lines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *lines) Sync() error { return nil }

func (s *lines) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// parse returns every line as a JSON object; a line that is not one fails the test.
func (s *lines) parse(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line is not one JSON object: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// one returns the only line written; anything else fails the test.
func (s *lines) one(t *testing.T) map[string]any {
	t.Helper()
	ls := s.parse(t)
	if len(ls) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(ls), s.String())
	}
	return ls[0]
}

func encoderConfig() zapcore.EncoderConfig {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = ""
	return cfg
}

// jsonCore returns a JSON core at level writing into a new sink.
func jsonCore(level zapcore.LevelEnabler) (zapcore.Core, *lines) {
	sink := &lines{}
	return zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), sink, level), sink
}

// tracer returns an SDK tracer whose ended spans the recorder holds.
func tracer(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("zapbridge-test"), rec
}

func ids(span trace.Span) (traceID, spanID string) {
	sc := span.SpanContext()
	return sc.TraceID().String(), sc.SpanID().String()
}

// logShape is one of the ways a line reaches the bridge.
type logShape struct {
	name string
	log  func(l *Logger, ctx context.Context, msg string, fields ...zap.Field)
}

var shapes = []logShape{
	{"Ctx.Info", func(l *Logger, ctx context.Context, msg string, fields ...zap.Field) {
		l.Ctx(ctx).Info(msg, fields...)
	}},
	{"InfoContext", func(l *Logger, ctx context.Context, msg string, fields ...zap.Field) {
		l.InfoContext(ctx, msg, fields...)
	}},
	{"Zap+Context", func(l *Logger, ctx context.Context, msg string, fields ...zap.Field) {
		l.Zap().Info(msg, append([]zap.Field{Context(ctx)}, fields...)...)
	}},
	{"Ctx.Zap", func(l *Logger, ctx context.Context, msg string, fields ...zap.Field) {
		l.Ctx(ctx).Zap().Info(msg, fields...)
	}},
}
