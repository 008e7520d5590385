package shop_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// memoryLogs keeps every exported log record's scope, body and trace ID.
type memoryLogs struct {
	mu   sync.Mutex
	recs []struct{ scope, body, trace string }
}

func (m *memoryLogs) Export(_ context.Context, rs []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.recs = append(m.recs, struct{ scope, body, trace string }{r.InstrumentationScope().Name, r.Body().AsString(), r.TraceID().String()})
	}
	return nil
}
func (m *memoryLogs) Shutdown(context.Context) error   { return nil }
func (m *memoryLogs) ForceFlush(context.Context) error { return nil }

// TestLogsFromBothLoggers: one checkout's lines reach OpenTelemetry's logs signal from the
// frontend's slog logger and from the zap loggers of orders and payments, all in one trace.
func TestLogsFromBothLoggers(t *testing.T) {
	logs := &memoryLogs{}
	l, err := shop.StartLocal(context.Background(), io.Discard, io.Discard,
		ctxtrail.WithoutExporter(), ctxtrail.WithLogExporter(logs))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(l.URL[shop.Frontend] + "/checkout?user=ada@example.com&item=book&card=4242")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	byBody := map[string]string{}
	trace := ""
	for _, r := range logs.recs {
		byBody[r.body] = r.scope
		if trace == "" {
			trace = r.trace
		}
		if r.trace != trace || r.trace == "00000000000000000000000000000000" {
			t.Fatalf("record %+v outside the checkout's trace %s", r, trace)
		}
	}
	if byBody["checkout requested"] != slogbridge.ScopeName || byBody["order placed"] != zapbridge.ScopeName || byBody["charged"] != zapbridge.ScopeName {
		t.Fatalf("records by body and scope: %v", byBody)
	}
}
