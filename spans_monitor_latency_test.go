package ctxtrail_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
)

// The latency table as a user gets it: Install, httpctx.NewHandler around a ServeMux that also
// serves the monitor, slogbridge mirroring lines as span events, trail's breadcrumbs. Rows are named by route, the
// monitor's own page is neither a row nor traced, and an example's waterfall shows its log line and breadcrumb.
func TestMonitorLatencyByRouteThroughInstall(t *testing.T) {
	mon := spans.NewMonitor()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithSpanProcessor(mon))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(io.Discard, nil), slogbridge.WithSpanEvents(slog.LevelInfo)))
	mux := http.NewServeMux()
	mux.Handle("GET "+otelctx.MonitorPath, mon)
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		trail.AddBreadcrumb(r.Context(), "cache missed")
		log.InfoContext(r.Context(), "item served", "id", r.PathValue("id"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of stock", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(httpctx.NewHandler(mux, httpctx.WithProvider(p)))
	defer srv.Close()
	for i := range 20 {
		resp, err := http.Get(srv.URL + "/items/" + string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for range 3 {
		resp, err := http.Post(srv.URL+"/orders", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for range 3 { // the page's own requests: never rows
		resp, err := http.Get(srv.URL + otelctx.MonitorPath + "?format=json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + otelctx.MonitorPath + "?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Latency struct {
			Rows []struct {
				Name  string `json:"name"`
				Short struct {
					Requests uint64 `json:"requests"`
					Errors   uint64 `json:"errors"`
				} `json:"1m"`
				Examples []struct {
					Href  string `json:"href"`
					Error bool   `json:"error"`
				} `json:"examples"`
			} `json:"rows"`
		} `json:"latency"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Latency.Rows {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"GET /items/{id}", "POST /orders"}) {
		t.Fatalf("rows %q, want the two routes and not the monitor's page", names)
	}
	for _, r := range page.Latency.Rows {
		switch r.Name {
		case "GET /items/{id}":
			if r.Short.Requests != 20 || r.Short.Errors != 0 || len(r.Examples) == 0 {
				t.Errorf("items row %+v", r)
			}
			resp, err := http.Get(srv.URL + otelctx.MonitorPath + r.Examples[0].Href)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "item served") ||
				!strings.Contains(string(body), "breadcrumb: cache missed") ||
				!strings.Contains(string(body), "GET /items/{id}") {
				t.Errorf("waterfall of %s: %d\n%s", r.Examples[0].Href, resp.StatusCode, body)
			}
		case "POST /orders":
			if r.Short.Requests != 3 || r.Short.Errors != 3 || len(r.Examples) == 0 || !r.Examples[0].Error {
				t.Errorf("orders row %+v: want 3 failed requests and a failed example", r)
			}
		}
	}
}
