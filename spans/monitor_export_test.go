package spans

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// refusingExporter fails every export, as a collector that answers 503 does.
type refusingExporter struct{}

func (refusingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector: 503 Service Unavailable")
}
func (refusingExporter) Shutdown(context.Context) error { return nil }

// Spans lost on the way to the collector show on the monitor's page and in its JSON.
func TestMonitorShowsExportLosses(t *testing.T) {
	m := NewMonitor()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithSpanProcessor(m),
		ctxtrail.WithExporter(refusingExporter{}), ctxtrail.WithLossWarnings(time.Hour, func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	srv := httptest.NewServer(m)
	defer srv.Close()
	if _, body := get(t, srv.URL+"?format=json", nil); strings.Contains(body, `"export"`) {
		t.Fatalf("export section before SetExportStats: %s", body)
	}
	m.SetExportStats(p.Stats)

	for range 3 {
		_, s := p.Tracer("t").Start(context.Background(), "op")
		s.End()
	}
	if err := p.ForceFlush(context.Background()); !errors.Is(err, ctxtrail.ErrSpansLost) {
		t.Fatalf("ForceFlush = %v, want ErrSpansLost", err)
	}

	_, body := get(t, srv.URL+"?format=json", nil)
	var page struct {
		Export *struct{ Ended, Failed, Exported uint64 } `json:"export"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if page.Export == nil || page.Export.Ended != 3 || page.Export.Failed != 3 || page.Export.Exported != 0 {
		t.Fatalf("export section %+v, want 3 ended, 3 failed", page.Export)
	}
	_, html := get(t, srv.URL, nil)
	if !strings.Contains(html, `id="export-failed">3<`) {
		t.Fatalf("HTML page lacks the 3 failed spans:\n%s", html)
	}
}
