package spans

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

// The page never lists the request reading it: at otelctx.MonitorPath that request is not
// traced at all, and mounted anywhere else behind the middleware its spans are left out of the
// list (the counts still hold them), while other work in flight is listed.
func TestMonitorPageLeavesOutItsOwnRequest(t *testing.T) {
	m := NewMonitor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(m))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, other := tp.Tracer("t").Start(context.Background(), "other work")
	defer other.End()

	mux := http.NewServeMux()
	mux.Handle("GET "+otelctx.MonitorPath, m)
	mux.Handle("GET /ops/spans", m)
	srv := httptest.NewServer(httpctx.NewHandler(mux, httpctx.WithTracerProvider(tp)))
	defer srv.Close()

	for _, path := range []string{otelctx.MonitorPath, "/ops/spans"} {
		resp, err := http.Get(srv.URL + path + "?format=json")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Active []struct {
				Name string `json:"name"`
			} `json:"active"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range page.Active {
			names = append(names, a.Name)
		}
		if len(names) != 1 || names[0] != "other work" {
			t.Errorf("%s lists active spans %q, want only \"other work\"", path, names)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}
