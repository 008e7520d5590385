package zapbridge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestAllocLineInServerSpan: the first line a request logs in its server span costs what a plain
// zap line does, one allocation for the fields: the span's encoded IDs go into NewHandler's
// request node instead of a new object (issue 19). Every request is a new span, so the ID cache
// never helps here. The line still carries the right IDs.
func TestAllocLineInServerSpan(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	out := &lastLine{}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), zapcore.AddSync(out), zapcore.InfoLevel)
	l := New(zap.New(core))
	logs := true
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if logs {
			l.Ctx(r.Context()).Info("stock checked", zap.Int("n", 1))
		}
	}), httpctx.WithTracerProvider(tp), httpctx.WithPropagator(propagators.New()))
	r := httptest.NewRequest(http.MethodGet, "/cart", nil)
	r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	w := httptest.NewRecorder()
	serve := func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	}
	serve()
	if line := string(out.b); !strings.Contains(line, `"trace_id":"0af7651916cd43dd8448eb211c80319c"`) ||
		!strings.Contains(line, `"span_id":"`) || strings.Contains(line, `"span_id":"b7ad6b7169203331"`) {
		t.Fatalf("line %s: want the caller's trace and the server span's own span ID", line)
	}
	with := testing.AllocsPerRun(200, serve)
	logs = false
	without := testing.AllocsPerRun(200, serve)
	if with-without > 1 {
		t.Fatalf("a line in the server span: %v allocations (%v with, %v without), want 1", with-without, with, without)
	}
}

// lastLine keeps the last line written, in a buffer it reuses.
type lastLine struct{ b []byte }

func (l *lastLine) Write(p []byte) (int, error) {
	l.b = append(l.b[:0], p...)
	return len(p), nil
}
