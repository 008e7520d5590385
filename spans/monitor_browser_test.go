package spans

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/cdp"
	"github.com/ctxtrail/ctxtrail/internal/latency"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// shop records requests as a small service would: a server span per request, a database call
// and a log line mirrored as a span event, as zapbridge and slogbridge do.
type shop struct {
	tracer trace.Tracer
	mu     sync.Mutex
	took   map[trace.TraceID]time.Duration
}

func (s *shop) request(route string, d time.Duration, failed bool) {
	end := time.Now()
	ctx, sp := s.tracer.Start(context.Background(), route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(end.Add(-d)), trace.WithAttributes(attribute.String("http.route", route)))
	_, db := s.tracer.Start(ctx, "SELECT shop.orders", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(end.Add(-d*3/4)))
	db.AddEvent("log", trace.WithTimestamp(end.Add(-d/2)), trace.WithAttributes(
		attribute.String("log.message", "orders loaded"), attribute.String("log.severity", "INFO"), attribute.Int("rows", 3)))
	db.End(trace.WithTimestamp(end.Add(-d / 4)))
	if failed {
		sp.AddEvent("breadcrumb", trace.WithTimestamp(end.Add(-d/8)), trace.WithAttributes(
			attribute.String("breadcrumb.level", "error"), attribute.String("breadcrumb.category", "payment"),
			attribute.String("breadcrumb.message", "card declined")))
		sp.SetStatus(codes.Error, "payment declined")
	}
	sp.End(trace.WithTimestamp(end))
	s.mu.Lock()
	s.took[sp.SpanContext().TraceID()] = d
	s.mu.Unlock()
}

// TestMonitorPageInChromium drives the page in headless Chromium over the DevTools protocol:
// the numbers in the DOM against a known latency distribution, a live update between two
// looks without a reload, a hostile route name kept inert, and a click from a latency bucket to
// the waterfall of a request in that bucket. It checks that the page screenshots as a PNG; the README's are taken after the demo (examples/demo).
func TestMonitorPageInChromium(t *testing.T) {
	cdp.Need(t)
	m := NewMonitor(WithLeakThreshold(time.Minute), WithJaegerUI("http://127.0.0.1:16686"))
	s := &shop{tracer: newMonitored(t, m), took: map[trace.TraceID]time.Duration{}}
	_, hung := s.tracer.Start(context.Background(), "GET /export", trace.WithSpanKind(trace.SpanKindServer))
	defer hung.End()
	rng := rand.New(rand.NewPCG(7, 8))
	var checkout []time.Duration
	for i := range 300 {
		d := time.Duration(math.Exp(rng.NormFloat64()*0.6) * float64(30*time.Millisecond))
		checkout = append(checkout, d)
		s.request("POST /checkout", d, i%20 == 0)
	}
	for range 500 {
		s.request("GET /items/{id}", time.Duration(800+rng.IntN(700))*time.Microsecond, false)
	}
	hostile := `<img src=x onerror="window.__pwned=1">`
	for range 3 {
		s.request(hostile, 5*time.Millisecond, false)
	}
	for range 40 {
		s.request("GET /search", time.Duration(150+rng.IntN(200))*time.Millisecond, rng.IntN(8) == 0)
	}
	// Ten searches that ended two minutes ago: in the ten-minute window only.
	for range 10 {
		end := time.Now().Add(-2 * time.Minute)
		_, sp := s.tracer.Start(context.Background(), "GET /search", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-200*time.Millisecond)))
		sp.End(trace.WithTimestamp(end))
	}
	slices.Sort(checkout)

	mux := http.NewServeMux()
	mux.Handle("GET /debug/ctxtrail", m)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	page := srv.URL + "/debug/ctxtrail"

	b := cdp.Start(t, 1400, 900)
	b.Navigate(page)
	b.WaitJS("the routes table", "document.querySelectorAll('#routes tbody tr').length === 5")

	t.Run("numbers", func(t *testing.T) {
		b := b.On(t)
		var row struct {
			P50, P95, P99, Errors, Rate, Impact float64
			Requests                            int
			First                               string
		}
		b.Eval(`(function(){
			var tr = document.querySelector('#routes tbody tr[data-route="POST /checkout"]');
			var v = function(c){ return parseFloat(tr.querySelector(c).getAttribute('data-value')); };
			var n = 0; tr.querySelectorAll('.bucket').forEach(function(b){ n += +b.getAttribute('data-count'); });
			return {P50: v('.c-p50'), P95: v('.c-p95'), P99: v('.c-p99'), Errors: v('.c-errors'), Rate: v('.c-rate'),
				Impact: v('.c-impact'), Requests: n,
				First: document.querySelector('#routes tbody tr').getAttribute('data-route')};
		})()`, &row)
		for _, p := range []struct {
			q   float64
			got float64
		}{{0.5, row.P50}, {0.95, row.P95}, {0.99, row.P99}} {
			want := ms(exactQuantile(checkout, p.q))
			if rel := math.Abs(p.got-want) / want; rel > 0.02 {
				t.Errorf("p%v in the DOM = %.3fms, exact %.3fms (%.2f%% off)", p.q*100, p.got, want, rel*100)
			}
		}
		if row.Errors != 15 || row.Requests != 300 || row.Rate <= 0 {
			t.Errorf("checkout row: %+v, want 15 errors of 300 requests", row)
		}
		if row.First != "POST /checkout" || row.Impact < 0.3 {
			t.Errorf("first row by impact %q (checkout's impact %.2f), want checkout", row.First, row.Impact)
		}
		// The request still running has a row of its own, named by its route.
		var inFlight float64
		b.Eval(`+document.querySelector('#routes tbody tr[data-route="GET /export"] .c-inflight').getAttribute('data-value')`, &inFlight)
		if inFlight != 1 {
			t.Errorf("GET /export in flight: %v, want 1", inFlight)
		}
		// Sorting by p99 puts the search route first.
		b.Eval(`document.querySelector('#routes th[data-key="p99"]').click()`, nil)
		var first string
		b.Eval(`document.querySelector('#routes tbody tr').getAttribute('data-route')`, &first)
		if first != "GET /search" {
			t.Errorf("sorted by p99, first row %q, want GET /search", first)
		}
		b.Eval(`document.querySelector('#routes th[data-key="impact"]').click()`, nil)
	})

	t.Run("hostile name inert", func(t *testing.T) {
		b := b.On(t)
		var got struct {
			Images int
			Pwned  bool
			Shown  bool
		}
		b.Eval(fmt.Sprintf(`({Images: document.querySelectorAll('img').length, Pwned: !!window.__pwned,
			Shown: Array.from(document.querySelectorAll('#routes td.route')).some(function(td){ return td.textContent === %q; })})`, hostile), &got)
		if got.Images != 0 || got.Pwned || !got.Shown {
			t.Errorf("hostile route: %+v, want it shown as text and never run", got)
		}
	})

	t.Run("window switch", func(t *testing.T) {
		b := b.On(t)
		look := func(win string) (got struct {
			Searches int
			Note     string
		}) {
			b.Eval(`document.getElementById('w-`+win+`').click()`, nil)
			b.Eval(`(function(){
				var n = 0; document.querySelectorAll('#routes tbody tr[data-route="GET /search"] .bucket').forEach(function(b){ n += +b.getAttribute('data-count'); });
				return {Searches: n, Note: document.getElementById('window-note').textContent};
			})()`, &got)
			return got
		}
		if got := look("10m"); got.Searches != 50 || !strings.Contains(got.Note, "ten minutes") {
			t.Errorf("ten-minute window: %+v, want 50 searches", got)
		}
		if got := look("1m"); got.Searches != 40 || !strings.Contains(got.Note, "last minute") {
			t.Errorf("one-minute window: %+v, want 40 searches", got)
		}
	})

	t.Run("live update", func(t *testing.T) {
		b := b.On(t)
		b.Eval("window.__sameDocument = true", nil)
		var before struct{ Refreshes, Items int }
		countItems := `(function(){ var n = 0; document.querySelectorAll('#routes tbody tr[data-route="GET /items/{id}"] .bucket').forEach(function(b){ n += +b.getAttribute('data-count'); }); return n; })()`
		b.Eval(`({Refreshes: +document.getElementById('updated').getAttribute('data-refreshes'), Items: `+countItems+`})`, &before)
		for range 25 {
			s.request("GET /items/{id}", time.Millisecond, false)
		}
		b.WaitJS("the new requests on the page", fmt.Sprintf("%s === %d", countItems, before.Items+25))
		var after struct {
			Refreshes int
			Same      bool
		}
		b.Eval(`({Refreshes: +document.getElementById('updated').getAttribute('data-refreshes'), Same: window.__sameDocument === true})`, &after)
		if after.Refreshes <= before.Refreshes || !after.Same {
			t.Errorf("refreshes %d then %d, same document %v: want a live update without a reload", before.Refreshes, after.Refreshes, after.Same)
		}
		// The refreshed list of active spans links the request in flight to the Jaeger UI.
		var link string
		b.Eval(`(document.querySelector('#active a.jaeger') || {href: ''}).href`, &link)
		if want := "http://127.0.0.1:16686/trace/" + hung.SpanContext().TraceID().String(); link != want {
			t.Errorf("active span's link %q, want %q", link, want)
		}
	})

	cdp.SaveScreenshot(t, t.TempDir(), "monitor.png", b.Screenshot()) // the README's come from examples/demo

	t.Run("bucket to waterfall", func(t *testing.T) {
		b := b.On(t)
		// The slowest bucket of checkout that has an example: click it.
		var link struct {
			Bucket  int
			TraceID string
		}
		b.Eval(`(function(){
			var as = document.querySelectorAll('#routes tbody tr[data-route="POST /checkout"] a.bucket');
			var a = as[as.length - 1];
			setTimeout(function(){ a.click(); }, 0); // after this evaluation has answered
			return {Bucket: +a.getAttribute('data-bucket'), TraceID: a.getAttribute('data-trace-id')};
		})()`, &link)
		b.WaitJS("the waterfall", "location.search.indexOf('?trace=') === 0 && document.readyState === 'complete' && !!document.querySelector('section.ctxtrail-waterfall')")
		var wf struct {
			TraceID string
			Rows    []string
			Lines   []string
			Error   string
		}
		b.Eval(`({TraceID: document.querySelector('section.ctxtrail-waterfall').getAttribute('data-trace-id'),
			Rows: Array.from(document.querySelectorAll('tr.span td.name')).map(function(td){ return td.textContent.trim(); }),
			Lines: Array.from(document.querySelectorAll('tr.line td.msg')).map(function(td){ return td.textContent.trim(); }),
			Error: (document.querySelector('tr.span.error .reason') || {textContent: ''}).textContent})`, &wf)
		s.mu.Lock()
		took, ok := s.took[trace.TraceID(mustTraceID(t, link.TraceID))]
		s.mu.Unlock()
		if wf.TraceID != link.TraceID || !ok {
			t.Fatalf("clicked trace %s, the page shows %s (known %v)", link.TraceID, wf.TraceID, ok)
		}
		if got := latency.CoarseIndex(int64(took)); got != link.Bucket {
			t.Errorf("the request behind bucket %d took %v, which is bucket %d", link.Bucket, took, got)
		}
		if len(wf.Rows) != 2 || !strings.HasPrefix(wf.Rows[0], "POST /checkout") || !strings.HasPrefix(wf.Rows[1], "SELECT shop.orders") {
			t.Errorf("waterfall rows %q, want the request and its query", wf.Rows)
		}
		if len(wf.Lines) == 0 || !strings.HasPrefix(wf.Lines[0], "orders loaded") {
			t.Errorf("waterfall lines %q, want the mirrored log line", wf.Lines)
		}
		cdp.SaveScreenshot(t, t.TempDir(), "monitor-waterfall.png", b.Screenshot())
	})

	t.Run("error to waterfall", func(t *testing.T) {
		b := b.On(t)
		b.Navigate(page)
		b.WaitJS("the routes table", "document.querySelectorAll('#routes tbody tr').length === 5")
		b.Eval(`setTimeout(function(){ document.querySelector('#routes tbody tr[data-route="POST /checkout"] .c-errors a').click(); }, 0)`, nil)
		b.WaitJS("the failed request's waterfall", "location.search.indexOf('?trace=') === 0 && !!document.querySelector('section.ctxtrail-waterfall')")
		var got struct {
			Reason string
			Crumb  bool
		}
		b.Eval(`({Reason: document.querySelector('tr.span.error .reason').textContent,
			Crumb: Array.from(document.querySelectorAll('tr.line td.msg')).some(function(td){ return td.textContent.indexOf('breadcrumb: card declined') === 0; })})`, &got)
		if !strings.Contains(got.Reason, "payment declined") || !got.Crumb {
			t.Errorf("failed request's waterfall: %+v, want its reason and breadcrumb", got)
		}
	})
}

func mustTraceID(t *testing.T, s string) trace.TraceID {
	t.Helper()
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
