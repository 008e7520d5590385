package trailzap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// lockedBuffer is a zapcore.WriteSyncer safe for the sink's goroutine and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Sync() error { return nil }

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// gateWriter blocks every Write until the test opens the gate, and says when a write began.
type gateWriter struct {
	entered chan struct{}
	gate    chan struct{}
}

func (w *gateWriter) Write(p []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.gate
	return len(p), nil
}

func (w *gateWriter) Sync() error { return nil }

func jsonLogger(w zapcore.WriteSyncer) *zap.Logger {
	cfg := zap.NewProductionEncoderConfig()
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(cfg), w, zapcore.DebugLevel))
}

func TestLogSinkWritesTheReportJSON(t *testing.T) {
	var out lockedBuffer
	sink := NewLogSink(jsonLogger(&out))
	ctx := otelctx.WithRequestID(trail.Start(context.Background(), trail.WithSink(sink)), "req-3")
	ctx = otelctx.AddFields(ctx, attribute.String("user.id", "u-1"))
	trail.AddBreadcrumb(ctx, "step", attribute.String("k", "v"))
	r1 := trail.Capture(ctx, errors.New("first"))
	r2 := trail.Capture(ctx, errors.Join(errors.New("a"), errors.New("b")))
	if err := sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sink.Written() != 2 || sink.Dropped() != 0 {
		t.Fatalf("Written %d Dropped %d, want 2 and 0", sink.Written(), sink.Dropped())
	}
	lines := out.lines()
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per report:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, r := range []*trail.Report{r1, r2} {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		if line["level"] != "error" || line["msg"] != LogMessage {
			t.Errorf("line %d: level %v msg %v", i, line["level"], line["msg"])
		}
		delete(line, "level")
		delete(line, "msg")
		delete(line, "ts")
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(line, want) {
			t.Errorf("line %d fields differ from the report's JSON:\nline %s\njson %s", i, lines[i], b)
		}
	}
}

func TestLogSinkNeverBlocks(t *testing.T) {
	w := &gateWriter{entered: make(chan struct{}, 8), gate: make(chan struct{})}
	sink := NewLogSink(jsonLogger(w), WithQueueSize(1))
	r := &trail.Report{ID: "r", Time: time.Now(), Message: "m"}

	sink.Send(context.Background(), r) // taken by the goroutine, which blocks in Write
	<-w.entered
	sink.Send(context.Background(), r) // queued
	sink.Send(context.Background(), r) // queue full: dropped
	sink.Send(context.Background(), r) // dropped
	sink.Send(context.Background(), nil)
	if got := sink.Dropped(); got != 2 {
		t.Fatalf("Dropped() = %d, want 2", got)
	}

	// Shutdown gives up when its context ends while the writer is stuck...
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sink.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a cancelled context = %v, want context.Canceled", err)
	}
	sink.Send(context.Background(), r) // after Shutdown: dropped, never a panic
	if got := sink.Dropped(); got != 3 {
		t.Fatalf("Dropped() after shutdown = %d, want 3", got)
	}
	// ...and the goroutine still writes what was queued, then stops.
	close(w.gate)
	if err := sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.Written(); got != 2 {
		t.Fatalf("Written() = %d, want 2 (the one in Write and the queued one)", got)
	}
}

func TestLogSinkNilLogger(t *testing.T) {
	sink := NewLogSink(nil, WithQueueSize(0))
	sink.Send(context.Background(), &trail.Report{})
	if err := sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sink.Written()+sink.Dropped() != 1 {
		t.Fatal("report neither written nor dropped")
	}
}

// A production zap logger adds a caller and a stacktrace to error lines; on a report line they
// would point into the sink's goroutine beside the report's real stack, so the sink drops them.
func TestLogSinkLineHasOnlyTheReportsStack(t *testing.T) {
	var out lockedBuffer
	zl := jsonLogger(&out).WithOptions(zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel))
	sink := NewLogSink(zl)
	ctx := trail.Start(context.Background(), trail.WithSink(sink))
	trail.Capture(ctx, errors.New("boom"))
	if err := sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(out.lines()[0]), &line); err != nil {
		t.Fatal(err)
	}
	if _, ok := line["stacktrace"]; ok {
		t.Errorf("zap's stacktrace on the report line: %v", line["stacktrace"])
	}
	if _, ok := line["caller"]; ok {
		t.Errorf("zap's caller on the report line: %v", line["caller"])
	}
	if st, _ := line["stack"].([]any); len(st) == 0 {
		t.Errorf("the report's own stack is missing: %v", line)
	}
	// The caller's logger keeps its options for its own lines.
	zl.Error("own line")
	if l := out.lines(); !strings.Contains(l[len(l)-1], `"stacktrace"`) {
		t.Errorf("the caller's logger lost its stacktrace: %s", l[len(l)-1])
	}
}
