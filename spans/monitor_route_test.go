package spans_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
)

// The monitor names a request in flight by its route, on its own page served by the same mux,
// with the handler stacks the README shows: httpctx.NewHandler around the ServeMux, directly
// or through trail.NewHandler.
func TestMonitorNamesInFlightRequestByRoute(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{"NewHandler(mux)", func(h http.Handler) http.Handler { return h }},
		{"NewHandler(trail.NewHandler(mux))", func(h http.Handler) http.Handler { return trail.NewHandler(h) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mon := spans.NewMonitor()
			p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
				ctxtrail.WithSpanProcessor(mon))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			entered, release := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.Handle("GET /debug/ctxtrail", mon)
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
			})
			srv := httptest.NewServer(httpctx.NewHandler(tt.wrap(mux), httpctx.WithProvider(p)))
			defer srv.Close()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			client := &http.Client{Transport: base}
			done := make(chan error, 1)
			go func() {
				resp, err := client.Get(srv.URL + "/items/42")
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			<-entered
			func() {
				defer close(release)
				var page struct {
					Active []struct {
						Name string `json:"name"`
						Kind string `json:"kind"`
					} `json:"active"`
				}
				resp, err := client.Get(srv.URL + "/debug/ctxtrail?format=json")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, a := range page.Active {
					names = append(names, a.Name+" ("+a.Kind+")")
				}
				if len(names) != 1 || page.Active[0].Name != "GET /items/{id}" {
					t.Errorf("monitor lists active spans %q, want the request in flight as \"GET /items/{id}\"", names)
				}
				if got := mon.ActiveSpans(0); len(got) != 1 || got[0].Name != "GET /items/{id}" {
					t.Errorf("ActiveSpans %+v, want one named \"GET /items/{id}\"", got)
				}
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
