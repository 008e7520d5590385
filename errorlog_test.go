package ctxtrail

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel"
)

// jsonLines decodes the JSON lines written to s, failing on any other line.
func jsonLines(t *testing.T, s *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// TestErrorLoggerStructuredAllTheWay: with WithErrorLogger, a flood of bad headers at a real
// server, and the SDK's own errors, come out as JSON records of the service's logger, rate-limited,
// and what was swallowed is reported when the Provider shuts down.
func TestErrorLoggerStructuredAllTheWay(t *testing.T) {
	old := otel.GetErrorHandler()
	defer otel.SetErrorHandler(old)
	oldTP, oldProp, oldMP := otel.GetTracerProvider(), otel.GetTextMapPropagator(), otel.GetMeterProvider()
	defer func() {
		otel.SetTracerProvider(oldTP)
		otel.SetTextMapPropagator(oldProp)
		otel.SetMeterProvider(oldMP)
	}()

	var buf syncBuffer
	p, err := Install(context.Background(), WithoutExporter(), WithErrorLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpctx.NewHandler(http.NotFoundHandler(), httpctx.WithProvider(p)))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	const n = 50
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("traceparent", "00-nope")
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := 0; i < 3; i++ {
		otel.Handle(errors.New("exporter said no"))
	}
	if got := jsonLines(t, &buf); len(got) != 2 {
		t.Fatalf("%d lines before shutdown, want one per kind: %v", len(got), got)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := jsonLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (two reports, two shutdown summaries): %v", len(lines), lines)
	}
	first, sdk, headerSummary, sdkSummary := lines[0], lines[1], lines[2], lines[3]
	if first["msg"] != "bad incoming header" || first["header"] != "traceparent" || first["level"] != "WARN" {
		t.Fatalf("first line %v", first)
	}
	if sdk["msg"] != "opentelemetry error" || sdk["error"] != "exporter said no" {
		t.Fatalf("SDK error line %v", sdk)
	}
	if headerSummary["msg"] != "bad incoming header" || headerSummary["suppressed"] != float64(n-1) {
		t.Fatalf("shutdown summary %v, want %d suppressed header warnings", headerSummary, n-1)
	}
	if sdkSummary["msg"] != "opentelemetry error" || sdkSummary["suppressed"] != float64(1) {
		t.Fatalf("shutdown summary %v, want the 2 swallowed SDK errors (the last, and 1 more)", sdkSummary)
	}
}

func TestWarnLimiterFlush(t *testing.T) {
	var s errSink
	l := propagators.NewWarnLimiter(0, s.sink)
	l.Flush() // nothing swallowed: nothing said
	for i := 0; i < 5; i++ {
		l.Warn("baggage", "malformed members dropped")
	}
	l.Flush()
	l.Flush()
	r := s.reports()
	var hw *propagators.HeaderWarning
	if len(r) != 2 || !errors.As(r[1], &hw) || hw.Suppressed != 4 || hw.Header != "" || !strings.Contains(hw.Error(), "4 warnings") {
		t.Fatalf("reports %v", r)
	}
	var nilLimiter *propagators.WarnLimiter
	nilLimiter.Flush()
}
