package zapbridge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestErrorHandlerWritesStructuredLines: bad headers at a real server behind a Provider made with
// WithErrorHandler(ErrorHandler(zl)) come out as zap lines with fields, and the swallowed ones
// as a summary when the Provider shuts down.
func TestErrorHandlerWritesStructuredLines(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithErrorHandler(ErrorHandler(zap.New(core))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpctx.NewHandler(http.NotFoundHandler(), httpctx.WithProvider(p)))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("x-request-id", "a b")
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d lines, want a report and a shutdown summary", len(all))
	}
	first, summary := all[0].ContextMap(), all[1].ContextMap()
	if all[0].Message != "bad incoming header" || all[0].Level != zapcore.WarnLevel || first["header"] != "x-request-id" {
		t.Fatalf("first line %q %v", all[0].Message, first)
	}
	if summary["suppressed"] != int64(9) {
		t.Fatalf("summary %v, want 9 suppressed", summary)
	}
	if ErrorHandler(nil) != nil {
		t.Fatal("ErrorHandler(nil) is not nil")
	}
	msg, _ := otelctx.ErrorFields(errors.New("x"))
	if msg != "opentelemetry error" {
		t.Fatal(msg)
	}
}
