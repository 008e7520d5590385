package ctxtrail_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// refusingExporter fails every export, as a collector that answers 503 does.
type refusingExporter struct{}

func (refusingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector: 503 Service Unavailable")
}
func (refusingExporter) Shutdown(context.Context) error { return nil }

// Spans lost on the way to the collector show on the monitor's page and in its JSON, with no
// wiring beyond WithSpanProcessor: Install hands the monitor the Provider's Stats.
func TestMonitorShowsExportLosses(t *testing.T) {
	m := spans.NewMonitor()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithSpanProcessor(m),
		ctxtrail.WithExporter(refusingExporter{}), ctxtrail.WithLossWarnings(time.Hour, func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	srv := httptest.NewServer(m)
	defer srv.Close()
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

// A monitor registered without Install has no export section until SetExportStats gives it one,
// and SetExportStats(nil) takes the one Install wired away.
func TestMonitorExportStatsWithoutInstall(t *testing.T) {
	m := spans.NewMonitor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(m))
	defer tp.Shutdown(context.Background())
	srv := httptest.NewServer(m)
	defer srv.Close()
	if _, body := get(t, srv.URL+"?format=json", nil); strings.Contains(body, `"export"`) {
		t.Fatalf("export section without a Provider: %s", body)
	}
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	m.SetExportStats(func() spans.ExportStats { return spans.ExportStats(p.Stats()) })
	if _, body := get(t, srv.URL+"?format=json", nil); !strings.Contains(body, `"export"`) {
		t.Fatalf("no export section after SetExportStats: %s", body)
	}

	wired := spans.NewMonitor()
	p2, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(), ctxtrail.WithSpanProcessor(wired))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Shutdown(context.Background())
	wired.SetExportStats(nil)
	srv2 := httptest.NewServer(wired)
	defer srv2.Close()
	if _, body := get(t, srv2.URL+"?format=json", nil); strings.Contains(body, `"export"`) {
		t.Fatalf("export section after SetExportStats(nil): %s", body)
	}
}
