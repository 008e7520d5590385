package otelconfig_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelconfig"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// blankOwnEnv empties ctxtrail's own variables that the node replaces, as blankOTELEnv does the
// OTEL_* ones.
func blankOwnEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"CTXTRAIL_KEEP", "CTXTRAIL_KEEP_SLOW", "CTXTRAIL_JAEGER_UI_URL", "CTXTRAIL_EVIDENCE", "CTXTRAIL_EVIDENCE_SLOW"} {
		t.Setenv(k, "")
	}
}

// nodeFile is a file whose ctxtrail node is the given flow mapping.
func nodeFile(node string, more ...string) []string {
	return append([]string{`file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: ` + node + `}}`}, more...)
}

// monitorPage reads the monitor's JSON page.
func monitorPage(t *testing.T, conf *otelconfig.Config) (page struct {
	JaegerUI string `json:"jaeger_ui"`
	Latency  *struct {
		MaxRoutes int `json:"max_routes"`
		Rows      []struct {
			Name  string `json:"name"`
			Other bool   `json:"other"`
		} `json:"rows"`
	} `json:"latency"`
}) {
	t.Helper()
	rr := httptest.NewRecorder()
	conf.Monitor().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/?format=json", nil))
	if err := json.Unmarshal(rr.Body.Bytes(), &page); err != nil {
		t.Fatalf("monitor page: %v: %s", err, rr.Body.String())
	}
	return page
}

// The monitor's latency table and its Jaeger links, from the file: max_routes caps the rows
// (the rest in "(other)"), jaeger_ui links trace IDs, and CTXTRAIL_JAEGER_UI_URL is replaced by
// the file unless the file names it; latency: false turns the table off.
func TestNodeMonitorLatency(t *testing.T) {
	blankOTELEnv(t)
	blankOwnEnv(t)
	t.Setenv("CTXTRAIL_JAEGER_UI_URL", "http://127.0.0.1:1")
	conf := parse(t, nodeFile(`{monitor: {max_routes: 1, recent_spans: 64, kept_traces: 4, jaeger_ui: "http://127.0.0.1:16686"}}`,
		`tracer_provider: {processors: []}`)...)
	p := install(t, conf.Option())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /b", func(http.ResponseWriter, *http.Request) {})
	h := httpctx.NewHandler(mux, httpctx.WithProvider(p))
	for _, path := range []string{"/a", "/b", "/b"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	page := monitorPage(t, conf)
	if page.JaegerUI != "http://127.0.0.1:16686" {
		t.Errorf("jaeger_ui %q, want the file's (not CTXTRAIL_JAEGER_UI_URL's)", page.JaegerUI)
	}
	if page.Latency == nil || page.Latency.MaxRoutes != 1 {
		t.Fatalf("latency table %+v, want one with max_routes 1", page.Latency)
	}
	var named, other int
	for _, r := range page.Latency.Rows {
		if r.Other {
			other++
		} else {
			named++
		}
	}
	if named != 1 || other != 1 {
		t.Errorf("latency rows %+v: want one route and (other)", page.Latency.Rows)
	}
	// A trace no longer kept: the page says how many example requests are (kept_traces).
	rr := httptest.NewRecorder()
	conf.Monitor().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/?trace=4bf92f3577b34da6a3ce929d0e0e4736", nil))
	if rr.Code != http.StatusNotFound || !strings.Contains(rr.Body.String(), "4 example requests") {
		t.Errorf("trace page %d, want 404 saying the file's kept_traces (4 example requests): %s", rr.Code, rr.Body.String())
	}
	if got := strings.Join(conf.Effective(), "\n"); !strings.Contains(got, "max_routes=1 recent_spans=64 kept_traces=4 jaeger_ui=http://127.0.0.1:16686") {
		t.Errorf("effective configuration does not show the monitor's settings:\n%s", got)
	}

	off := parse(t, nodeFile(`{monitor: {latency: false}}`)...)
	if page := monitorPage(t, off); page.Latency != nil || page.JaegerUI != "" {
		t.Errorf("latency: false gives table %+v and jaeger_ui %q (CTXTRAIL_JAEGER_UI_URL is set but not named by the file): want neither",
			page.Latency, page.JaegerUI)
	}
	named2 := parse(t, nodeFile(`{monitor: {jaeger_ui: "${CTXTRAIL_JAEGER_UI_URL}"}}`)...)
	if page := monitorPage(t, named2); page.JaegerUI != "http://127.0.0.1:1" {
		t.Errorf("jaeger_ui ${CTXTRAIL_JAEGER_UI_URL} = %q, want the variable's", page.JaegerUI)
	}
	if bare := parse(t, `file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`, `      monitor:`); bare.Monitor() == nil {
		t.Error("monitor: with no value makes no monitor; want one with the defaults, as console: is an exporter")
	}
	parseErr(t, []string{"monitor.jaeger_ui", "want the Jaeger UI's http or https URL"}, nodeFile(`{monitor: {jaeger_ui: "127.0.0.1:16686"}}`)...)
	parseErr(t, []string{"monitor.max_routes=-1"}, nodeFile(`{monitor: {max_routes: -1}}`)...)
	parseErr(t, []string{"line 6", "ctxtrail.monitor.max_route", "max_routes"},
		`file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`, `      monitor:`, `        max_route: 3`)
}

// keptSpans installs conf with an always_off sampler and an in-memory exporter, ends a failed
// root span and a slow one (2s) in two traces, and returns the names of the spans exported.
func keptSpans(t *testing.T, opt ctxtrail.Option) []string {
	t.Helper()
	rec := tracetest.NewInMemoryExporter()
	p := install(t, opt, ctxtrail.WithExporter(rec))
	tr := p.Tracer("t")
	_, failed := tr.Start(context.Background(), "failed")
	failed.SetStatus(codes.Error, "boom")
	failed.End()
	_, slow := tr.Start(context.Background(), "slow", trace.WithTimestamp(time.Now().Add(-2*time.Second)))
	slow.End()
	_, fast := tr.Start(context.Background(), "fast")
	fast.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range rec.GetSpans() {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// The in-process capture, from the file: the keep section turns it on through Install's option
// (so Bytes applies it, as Enable and File do), slow_threshold takes milliseconds or a Go
// duration, and CTXTRAIL_KEEP and CTXTRAIL_KEEP_SLOW count only where the file names them.
func TestNodeKeep(t *testing.T) {
	blankOTELEnv(t)
	blankOwnEnv(t)
	sampler := `tracer_provider: {processors: [], sampler: {always_off: }}`
	file := func(node string) ctxtrail.Option {
		lines := append([]string{sampler}, nodeFile(node)...)
		return otelconfig.Bytes("keep.yaml", []byte(strings.Join(lines, "\n")+"\n"))
	}
	t.Setenv("CTXTRAIL_KEEP", "errors-and-slow")
	t.Setenv("CTXTRAIL_KEEP_SLOW", "1h")
	for _, tt := range []struct {
		name, node string
		want       []string
	}{
		{"section, default threshold", `{keep: {max_spans_per_trace: 16, max_attributes_per_span: 8, max_events_per_span: 4, max_bytes: 1048576, max_traces: 100}}`,
			[]string{"failed", "slow"}},
		{"threshold over the slow span", `{keep: {slow_threshold: 3s}}`, []string{"failed"}},
		{"threshold in milliseconds", `{keep: {slow_threshold: 1500}}`, []string{"failed", "slow"}},
		{"no trace kept for being slow", `{keep: {slow_threshold: 0}}`, []string{"failed"}},
		{"enabled: false", `{keep: {enabled: false}}`, nil},
		{"no keep section: CTXTRAIL_KEEP is replaced", `{}`, nil},
		{"the file names the variables", `{keep: {enabled: "${CTXTRAIL_KEEP:-off}", slow_threshold: "${CTXTRAIL_KEEP_SLOW:-1s}"}}`, []string{"failed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := keptSpans(t, file(tt.node)); !slices.Equal(got, tt.want) {
				t.Errorf("exported %q, want %q", got, tt.want)
			}
		})
	}
	// Without a file the same variables turn it on, with their threshold: the file is what
	// replaced them above.
	t.Setenv("CTXTRAIL_KEEP_SLOW", "500ms")
	if got := keptSpans(t, ctxtrail.WithSampler(sdktrace.NeverSample())); !slices.Equal(got, []string{"failed", "slow"}) {
		t.Errorf("without a file, CTXTRAIL_KEEP exported %q", got)
	}

	var warned []string
	install(t, file(`{}`), ctxtrail.WithErrorHandler(func(err error) {
		if errors.Is(err, ctxtrail.ErrEnvIgnored) {
			warned = append(warned, err.Error())
		}
	}))
	if !slices.ContainsFunc(warned, func(s string) bool {
		return strings.Contains(s, "CTXTRAIL_KEEP (instrumentation/development.go.ctxtrail.keep), CTXTRAIL_KEEP_SLOW") &&
			strings.Contains(s, "are not read")
	}) {
		t.Errorf("warnings %q do not name CTXTRAIL_KEEP and CTXTRAIL_KEEP_SLOW as not read", warned)
	}
	conf := parse(t, nodeFile(`{keep: {slow_threshold: 750}}`)...)
	if got := strings.Join(conf.Effective(), "\n"); !strings.Contains(got, "ctxtrail: keep errors and slow traces kept whole: slow_threshold=750ms") {
		t.Errorf("effective configuration does not show the capture:\n%s", got)
	}
	parseErr(t, []string{"enabled", `"maybe"`, "want true or false"}, nodeFile(`{keep: {enabled: maybe}}`)...)
	parseErr(t, []string{`"-5"`, "not negative"}, nodeFile(`{keep: {slow_threshold: -5}}`)...)
	parseErr(t, []string{"keep.max_traces=-1"}, nodeFile(`{keep: {max_traces: -1}}`)...)
	parseErr(t, []string{"line 6", "ctxtrail.keep.slow", "slow_threshold"},
		`file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`, `      keep:`, `        slow: 100`)
}

// The runtime evidence, from the file: conf.Evidence arms what the section names and nothing
// else (CTXTRAIL_EVIDENCE is replaced by the file), its Middleware labels a real request with
// its route, and a request past its route's threshold is captured and written to capture_dir.
// Enable refuses the section, as it refuses the monitor's: Install cannot reach the handler.
func TestNodeEvidence(t *testing.T) {
	blankOTELEnv(t)
	blankOwnEnv(t)
	t.Setenv("CTXTRAIL_EVIDENCE", "all")
	dir := t.TempDir()
	conf := parse(t, nodeFile(`{evidence: {profile_labels: true, flight_recorder: {slow_threshold: 1h, route_thresholds: {"/slow": 1},`+
		` captures_per_minute: 10, capture_dir: `+dir+`, window_min_age: 2000, window_max_bytes: 1048576}}}`,
		`tracer_provider: {processors: []}`)...)
	rec, err := conf.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Shutdown(context.Background()) })
	if labels, left, flight := rec.Armed(); !labels || left || !flight {
		t.Errorf("armed labels=%v left_behind=%v flight=%v; want labels and the flight recorder only (CTXTRAIL_EVIDENCE=all is replaced)",
			labels, left, flight)
	}
	p := install(t, conf.Option())
	var route string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		route, _ = pprof.Label(r.Context(), evidence.LabelRoute)
		time.Sleep(5 * time.Millisecond)
	})
	h := httpctx.NewHandler(rec.Middleware(mux), httpctx.WithProvider(p))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil))
	if route != "/slow" {
		t.Errorf("route label %q, want /slow", route)
	}
	var caps []evidence.CaptureInfo
	for deadline := time.Now().Add(10 * time.Second); len(caps) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		caps = rec.Snapshot().Captures
	}
	if len(caps) != 1 || caps[0].Reason != "slow" || caps[0].File == "" || filepath.Dir(caps[0].File) != dir {
		t.Fatalf("captures %+v, want one slow capture written to %s", caps, dir)
	} else if _, err := os.Stat(caps[0].File); err != nil {
		t.Errorf("capture file: %v", err)
	}

	// No section: nothing armed, whatever CTXTRAIL_EVIDENCE says; a nil Config reads it.
	none, err := parse(t, `file_format: "1.1"`).Evidence()
	if err != nil {
		t.Fatal(err)
	}
	if labels, left, flight := none.Armed(); labels || left || flight {
		t.Errorf("no evidence section armed labels=%v left_behind=%v flight=%v", labels, left, flight)
	}
	t.Setenv("CTXTRAIL_EVIDENCE", "labels")
	var nilConf *otelconfig.Config
	env, err := nilConf.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	if labels, _, _ := env.Armed(); !labels {
		t.Error("without a file, CTXTRAIL_EVIDENCE=labels did not arm the labels")
	}
	census := parse(t, nodeFile(`{evidence: {left_behind: {grace: 1s, interval: 500, ignore: [example.com/pool.worker]}}}`)...)
	if got := strings.Join(census.Effective(), "\n"); !strings.Contains(got, "left_behind grace=1s interval=500ms ignore=[example.com/pool.worker]") {
		t.Errorf("effective configuration does not show the census:\n%s", got)
	}
	cr, err := census.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Shutdown(context.Background())
	if labels, left, flight := cr.Armed(); !labels || !left || flight {
		t.Errorf("left_behind armed labels=%v left_behind=%v flight=%v; want the census and its labels", labels, left, flight)
	}

	_, err = ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), otelconfig.Bytes("e.yaml",
		[]byte(strings.Join(nodeFile(`{evidence: {profile_labels: true}}`), "\n"))))
	if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "evidence") {
		t.Errorf("Bytes with an evidence section = %v, want ErrConfig naming evidence", err)
	}
	parseErr(t, []string{`route_thresholds["/x"]=0`}, nodeFile(`{evidence: {flight_recorder: {route_thresholds: {"/x": 0}}}}`)...)
	parseErr(t, []string{"window_min_age=0"}, nodeFile(`{evidence: {flight_recorder: {window_min_age: 0}}}`)...)
	parseErr(t, []string{"line 6", "ctxtrail.evidence.flight_recorder.slow", "slow_threshold"},
		`file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`, `      evidence:`, `        flight_recorder: {slow: 1}`)
}
