package slogbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// lines is a goroutine-safe writer that a JSONHandler writes lines into.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *lines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *lines) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

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

func (s *lines) one(t *testing.T) map[string]any {
	t.Helper()
	ls := s.parse(t)
	if len(ls) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(ls), s.String())
	}
	return ls[0]
}

// jsonLogger returns a slog logger over slogbridge over a JSONHandler at debug level, without
// time, and the lines it writes.
func jsonLogger(opts ...Option) (*slog.Logger, *lines) {
	out := &lines{}
	return slog.New(NewHandler(plainJSON(out), opts...)), out
}

func plainJSON(w *lines) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})
}

func noTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func tracer(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("slogbridge-test"), rec
}

func ids(span trace.Span) (traceID, spanID string) {
	sc := span.SpanContext()
	return sc.TraceID().String(), sc.SpanID().String()
}

var timeZero = time.Time{}
