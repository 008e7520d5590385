package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/headervalues"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
)

const (
	monitorNames   = 50
	monitorTracked = 100
)

// hostileApp is a service whose handler does what a hostile client can make it do: a span per
// path segment (names chosen by the client), breadcrumbs and request-store fields without end.
// It answers with what the context held.
type hostileApp struct {
	p       *ctxtrail.Provider
	mon     *spans.Monitor
	handler http.Handler
}

func newHostileApp(t *testing.T) *hostileApp {
	t.Helper()
	mon := spans.NewMonitor(spans.WithMaxNames(monitorNames), spans.WithMaxTracked(monitorTracked))
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithSpanProcessor(mon), ctxtrail.WithLossWarnings(time.Minute, func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		_ = mon.Shutdown(context.Background())
	})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		crumbs, _ := strconv.Atoi(r.URL.Query().Get("crumbs"))
		fields, _ := strconv.Atoi(r.URL.Query().Get("fields"))
		crumbs, fields = min(crumbs, 100_000), min(fields, 100_000) // the loop itself is bounded
		for i := range crumbs {
			trail.AddBreadcrumb(ctx, "step", attribute.Int("i", i))
		}
		for i := range fields {
			ctx = otelctx.AddFields(ctx, attribute.Int("f"+strconv.Itoa(i), i))
		}
		for _, seg := range strings.Split(strings.Trim(r.URL.Path, "/"), "/") {
			_ = spans.Run(ctx, seg, func(context.Context) error { return nil }, spans.WithTracerProvider(p.TracerProvider()))
		}
		fmt.Fprintf(w, "crumbs=%d fields=%d baggage=%d request_id=%s trace=%s",
			trail.FromContext(ctx).Len(), otelctx.FieldsFrom(ctx).Len(), otelbaggage.FromContext(ctx).Len(),
			otelctx.RequestID(ctx), trace.SpanContextFromContext(ctx).TraceID())
	})
	return &hostileApp{p: p, mon: mon, handler: httpctx.NewHandler(trail.NewHandler(app), httpctx.WithProvider(p),
		httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Minute, func(error) {})))}
}

func baggageHeaders(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("k%d=v%d", i, i)
	}
	return out
}

// Bounds under a hostile client, over real HTTP: every store stops at its cap and the server
// answers (or refuses with 431), never panics.
func TestHostileClientBounds(t *testing.T) {
	app := newHostileApp(t)
	srv := httptest.NewUnstartedServer(app.handler)
	srv.Config.MaxHeaderBytes = 4 << 20  // let 1 MB of headers reach the middleware
	headervalues.Allow(srv.Config, 2000) // and 1,000 baggage fields, past Go 1.27's 500
	srv.Start()
	defer srv.Close()
	small := httptest.NewServer(app.handler) // the default 1 MB header limit
	defer small.Close()

	const sentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name   string
		url    string
		path   string
		header http.Header
		status int
		want   []string // substrings of the answer
	}{
		{
			name:   "1000 baggage headers: the first 64 members kept",
			url:    srv.URL,
			path:   "/a",
			header: http.Header{"Baggage": baggageHeaders(1000), "Traceparent": {"00-" + sentTrace + "-00f067aa0ba902b7-01"}},
			status: http.StatusOK,
			want:   []string{"baggage=64", "trace=" + sentTrace},
		},
		{
			name:   "64 baggage members are kept",
			url:    srv.URL,
			path:   "/a",
			header: http.Header{"Baggage": {strings.Join(baggageHeaders(64), ",")}},
			status: http.StatusOK,
			want:   []string{"baggage=64"},
		},
		{
			name:   "1 MB of headers",
			url:    srv.URL,
			path:   "/a",
			header: http.Header{"X-Junk": {strings.Repeat("j", 1<<20)}, "Traceparent": {strings.Repeat("0", 1<<19)}},
			status: http.StatusOK,
			want:   []string{"baggage=0"},
		},
		{
			name:   "headers past the server's 1 MB limit",
			url:    small.URL,
			path:   "/a",
			header: http.Header{"X-Junk": {strings.Repeat("j", 1<<20+8<<10)}},
			status: http.StatusRequestHeaderFieldsTooLarge,
		},
		{
			name:   "huge request id",
			url:    srv.URL,
			path:   "/a",
			header: http.Header{"X-Request-Id": {strings.Repeat("r", 1<<16)}},
			status: http.StatusOK,
		},
		{
			name:   "endless breadcrumbs and fields",
			url:    srv.URL,
			path:   "/a?crumbs=20000&fields=5000",
			status: http.StatusOK,
			want:   []string{fmt.Sprintf("crumbs=%d", trail.DefaultMaxBreadcrumbs), fmt.Sprintf("fields=%d", otelctx.MaxFields)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.url+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.header
			if req.Header == nil {
				req.Header = http.Header{}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("answer %q lacks %q", body, w)
				}
			}
			if tt.status != http.StatusOK {
				return
			}
			if id := resp.Header.Get("x-request-id"); !otelctx.ValidRequestID(id) {
				t.Errorf("x-request-id %.80q is not a valid request ID", id)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

// The monitor stops at its caps however many span names a client invents.
func TestHostileSpanNamesMonitorBounded(t *testing.T) {
	app := newHostileApp(t)
	for i := range 500 {
		path := fmt.Sprintf("/n%d/m%d", i, i)
		rec := httptest.NewRecorder()
		app.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
	}
	st := app.mon.Stats()
	if len(st.ByName) > monitorNames+1 { // +1: the overflow bucket, if the monitor keeps one
		t.Errorf("monitor holds %d names, cap %d", len(st.ByName), monitorNames)
	}
	if st.Tracked > monitorTracked {
		t.Errorf("monitor tracks %d spans, cap %d", st.Tracked, monitorTracked)
	}
}

// Allocations per request do not grow with the size of the attack: the header caps refuse
// whole before parsing what is past them.
func TestHostileAllocationsBounded(t *testing.T) {
	app := newHostileApp(t)
	allocs := func(h http.Header, query string) float64 {
		return testing.AllocsPerRun(50, func() {
			r := httptest.NewRequest(http.MethodGet, "/a"+query, nil)
			r.Header = h
			app.handler.ServeHTTP(httptest.NewRecorder(), r)
		})
	}
	tests := []struct {
		name           string
		small, hostile http.Header
		smallQ, bigQ   string
	}{
		{"baggage headers", http.Header{"Baggage": baggageHeaders(70)}, http.Header{"Baggage": baggageHeaders(1000)}, "", ""},
		{"request id", http.Header{"X-Request-Id": {strings.Repeat("r", 200)}}, http.Header{"X-Request-Id": {strings.Repeat("r", 1<<20)}}, "", ""},
		{"traceparent", http.Header{"Traceparent": {strings.Repeat("0", 600)}}, http.Header{"Traceparent": {strings.Repeat("0", 1<<20)}}, "", ""},
		{"breadcrumbs", http.Header{}, http.Header{}, "?crumbs=100", "?crumbs=5000"}, // 100: the trail's cap
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := allocs(tt.small, tt.smallQ), allocs(tt.hostile, tt.bigQ)
			// Breadcrumbs past the cap still cost their own allocations as they are made and
			// dropped; what must not grow is what the trail keeps, checked above. For headers the
			// cost must not grow at all beyond noise.
			limit := a + 5
			if tt.smallQ != "" {
				// Linear work is fine: extrapolate the cost of a crumb within the cap (0 to 100
				// crumbs, about 7 allocations each: the data, the event, the kept copy) to the
				// 4,900 past it, with 5 % for noise. One more allocation per crumb past the cap
				// (a ring copied on each eviction, say) is 14 % more and fails; the old bound
				// (30× the small case at 200 crumbs) let 25 % through.
				a0 := allocs(tt.small, "?crumbs=0")
				perCrumb := (a - a0) / trail.DefaultMaxBreadcrumbs
				limit = a + perCrumb*(5000-trail.DefaultMaxBreadcrumbs)*1.05
				t.Logf("breadcrumbs: %.0f allocations without crumbs, %.2f per crumb", a0, perCrumb)
			}
			if b > limit {
				t.Errorf("allocs per request: %.0f for the small attack, %.0f for the big one (limit %.0f)", a, b, limit)
			}
			t.Logf("RESULT hostile_allocs case=%q small=%.0f hostile=%.0f", tt.name, a, b)
		})
	}
}
