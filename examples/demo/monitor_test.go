package main

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/cdp"
)

// The frontend's monitor page after the demo's traffic, in headless Chromium: the demo's five
// requests, then the same five eight times more so the distribution has a shape. The checkout
// route shows every request and its failures, and the link on its failures opens the
// waterfall of a failed checkout. With CTXTRAIL_UPDATE_SCREENSHOT=1 it writes the README's
// screenshots, docs/monitor.png and docs/monitor-waterfall.png.
func TestMonitorPageAfterDemo(t *testing.T) {
	cdp.Need(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncWriter
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-serve"}, &out) }()
	deadline := time.Now().Add(60 * time.Second)
	var monitor string
	for monitor == "" {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "frontend" && strings.HasSuffix(f[1], "/debug/ctxtrail") {
				monitor = f[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frontend monitor after 60s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	front := strings.TrimSuffix(monitor, "/debug/ctxtrail")
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		for _, rq := range requests {
			resp, err := client.Get(front + "/checkout?" + rq.query)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	total := 9 * len(requests)

	b := cdp.Start(t, 1400, 1000)
	b.Navigate(monitor)
	b.WaitJS("the checkout row", `!!document.querySelector('#routes tbody tr[data-route="GET /checkout"]')`)
	var row struct {
		Requests, Errors int
		P99              float64
	}
	b.Eval(`(function(){
		var tr = document.querySelector('#routes tbody tr[data-route="GET /checkout"]');
		var n = 0; tr.querySelectorAll('.bucket').forEach(function(b){ n += +b.getAttribute('data-count'); });
		return {Requests: n, Errors: +tr.querySelector('.c-errors').getAttribute('data-value'),
			P99: +tr.querySelector('.c-p99').getAttribute('data-value')};
	})()`, &row)
	// Of the demo's five requests one fails on the server (payments panics: 502); the declined
	// card, the missing credit and the bad quantity are 4xx, the caller's errors, which the
	// semantic conventions leave off a server span's status.
	if row.Requests != total || row.Errors != total/5 || row.P99 <= 0 {
		t.Errorf("checkout row %+v, want %d requests, %d failed", row, total, total/5)
	}
	docs := filepath.Join("..", "..", "docs")
	cdp.SaveScreenshot(t, docs, "monitor.png", b.Screenshot())

	b.Eval(`setTimeout(function(){ document.querySelector('#routes tbody tr[data-route="GET /checkout"] .c-errors a').click(); }, 0)`, nil)
	b.WaitJS("a failed checkout's waterfall", "location.search.indexOf('?trace=') === 0 && !!document.querySelector('section.ctxtrail-waterfall')")
	var wf struct {
		Spans  int
		Failed bool
	}
	b.Eval(`({Spans: document.querySelectorAll('tr.span').length, Failed: !!document.querySelector('tr.span.error .reason')})`, &wf)
	if wf.Spans < 2 || !wf.Failed {
		t.Errorf("waterfall %+v, want the checkout and its calls, failed", wf)
	}
	cdp.SaveScreenshot(t, docs, "monitor-waterfall.png", b.Screenshot())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
