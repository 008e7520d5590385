package evidence

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type monitorSection struct {
	Name  string     `json:"name"`
	Rows  [][]string `json:"rows"`
	Links [][]string `json:"links"`
	Note  string     `json:"note"`
}

// TestMonitorSections: as a user mounts them (the Monitor with the Recorder's sections, the
// captures handler beside it, the service behind httpctx.NewHandler and the Recorder's
// middleware on loopback), the page's JSON lists the route that left a goroutine behind with a
// link to its example's waterfall, and the failed request's capture with its breakdown and a
// download link that serves the execution trace.
func TestMonitorSections(t *testing.T) {
	rec := newRecorder(t, WithLeftBehind(20*time.Millisecond, time.Hour), WithFlightRecorder(time.Hour))
	mon := spans.NewMonitor()
	rec.AddToMonitor(mon, "/debug/evidence")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(mon))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	release := make(chan struct{})
	var left sync.WaitGroup
	defer func() { close(release); left.Wait() }()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /leak", func(w http.ResponseWriter, r *http.Request) {
		left.Go(func() { leakedWorker(release) })
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	})
	mux.Handle("GET /debug/ctxtrail", mon)
	mux.Handle("GET /debug/evidence", rec.CapturesHandler())
	srv := httptest.NewServer(httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(tp)))
	t.Cleanup(srv.Close)

	get(t, srv.URL+"/leak")
	get(t, srv.URL+"/fail")
	caps := waitCaptures(t, rec, 1)
	rec.CensusNow()
	time.Sleep(30 * time.Millisecond) // past the grace
	rec.CensusNow()

	var page struct {
		Sections []monitorSection `json:"sections"`
	}
	resp, err := http.Get(srv.URL + "/debug/ctxtrail?format=json")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]monitorSection{}
	for _, s := range page.Sections {
		byName[s.Name] = s
	}

	lb := byName["goroutines left behind"]
	found := false
	for i, r := range lb.Rows {
		if r[0] == "/leak" {
			found = true
			if r[1] != "1" {
				t.Errorf("/leak row %q: want 1 left behind", r)
			}
			if want := "?trace=" + r[4]; len(r[4]) != 32 || lb.Links[i][4] != want {
				t.Errorf("/leak example link %q, want %q", lb.Links[i][4], want)
			}
		}
	}
	if !found {
		t.Errorf("no /leak row in %+v", lb)
	}

	cs := byName["flight-recorder captures"]
	if len(caps) != 1 || len(cs.Rows) != 1 {
		t.Fatalf("captures %+v, section %+v", caps, cs)
	}
	c, row, links := caps[0], cs.Rows[0], cs.Links[0]
	if row[0] != c.ID || row[1] != "error" || row[2] != "/fail" || row[len(row)-1] != c.TraceID {
		t.Errorf("capture row %q for %+v", row, c)
	}
	if links[0] != "/debug/evidence?id="+c.ID || links[len(links)-1] != "?trace="+c.TraceID {
		t.Errorf("capture links %q", links)
	}
	resp, err = http.Get(srv.URL + links[0])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) != c.Bytes {
		t.Errorf("download through the page's link: status %d, %d bytes, want %d", resp.StatusCode, len(body), c.Bytes)
	}
}

// A section for a part that is not armed says how to arm it.
func TestMonitorSectionsNotArmed(t *testing.T) {
	rec := newRecorder(t, WithProfileLabels())
	mon := spans.NewMonitor()
	rec.AddToMonitor(mon, "")
	rw := httptest.NewRecorder()
	mon.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/?format=json", nil))
	var page struct {
		Sections []monitorSection `json:"sections"`
	}
	if err := json.Unmarshal(rw.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Sections) != 2 || page.Sections[0].Note == "" || page.Sections[1].Note == "" {
		t.Errorf("sections %+v: want two, each saying it is not armed", page.Sections)
	}
}
