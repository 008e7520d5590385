package trail_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
)

// A report captured in a ServeMux route carries http.route, one of the default field keys,
// beside the method and path, with the handler stack the README shows and with the routes
// other routers name through otelctx.SetRoute.
func TestCaptureCarriesServeMuxRoute(t *testing.T) {
	capture := func(w http.ResponseWriter, r *http.Request) {
		trail.Capture(r.Context(), errors.New("out of stock"))
	}
	tests := []struct {
		name      string
		path      string
		app       func() http.Handler
		wantRoute string
	}{
		{"ServeMux", "/items/42", func() http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", capture)
			return mux
		}, "/items/{id}"},
		{"nested ServeMux", "/api/items/42", func() http.Handler {
			inner := http.NewServeMux()
			inner.HandleFunc("GET /api/items/{id}", capture)
			outer := http.NewServeMux()
			outer.Handle("/api/", inner)
			return outer
		}, "/api/"}, // the pattern known when the report is taken: the outer mux's
		{"SetRoute", "/things/7", func() http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				otelctx.SetRoute(r.Context(), "/things/{id}")
				capture(w, r)
			})
		}, "/things/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := trail.NewMemorySink(10)
			tp := sdktrace.NewTracerProvider()
			defer tp.Shutdown(context.Background())
			srv := httptest.NewServer(httpctx.NewHandler(trail.NewHandler(tt.app(), trail.WithSink(sink)),
				httpctx.WithTracerProvider(tp)))
			defer srv.Close()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			resp, err := (&http.Client{Transport: base}).Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reports := sink.Reports()
			if len(reports) != 1 {
				t.Fatalf("%d reports, want 1", len(reports))
			}
			got := map[attribute.Key]string{}
			for _, kv := range reports[0].Context {
				got[kv.Key] = kv.Value.Emit()
			}
			if got["http.route"] != tt.wantRoute || got["http.request.method"] != "GET" || got["url.path"] != tt.path {
				t.Fatalf("report context %v, want http.route %q, GET and %s", reports[0].Context, tt.wantRoute, tt.path)
			}
		})
	}
}
