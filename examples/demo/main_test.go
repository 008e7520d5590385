package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the README's demo sample from this run")

func runDemo(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestDemo(t *testing.T) {
	s := runDemo(t)
	blocks := strings.Split(s, "── request ")[1:]
	if len(blocks) != len(requests) {
		t.Fatalf("%d requests drawn, want %d:\n%s", len(blocks), len(requests), s)
	}
	want := []struct {
		status string
		lines  []string // each must appear in that request's block
		logs   int      // log lines and reports under the trace: exactly this request's
	}{
		{"200 OK", []string{"frontend  GET /checkout", "orders        └ POST /orders", "payments            └ shop.Payments/Charge", "sqltx.commit", "orders    info   order placed  order_id=1 total_cents=3000"}, 4},
		{"402 Payment Required", []string{
			"frontend    └ POST", "✗ 402 Payment Required", // the client span says why it failed
			"payments              └ authorize card", "✗ card declined", "sqltx.rollback",
			`payments  warn   charge declined  cents=1500 error="card declined"`,
			`frontend  warn   checkout failed  status=402 error="charge: card declined"`,
		}, 4},
		{"402 Payment Required", []string{"✗ shopdb: checkout: line 1: insufficient credit: order of 120000 cents for user 2", "orders    warn   not enough credit"}, 3},
		{"502 Bad Gateway", []string{"payments            └ shop.Payments/Charge", "✗ panic: payments", "✗ 502 Bad Gateway",
			"payments  error  error report: panic: payments: card processor returned garbage  stack=panic breadcrumbs=none",
			"frontend  error  error report: checkout failed: ",
			`stack=capture breadcrumbs="checkout requested → recommendations loaded → checkout failed"`}, 6},
		{"400 Bad Request", []string{"validate cart", "frontend  warn   cart rejected"}, 2},
	}
	for i, w := range want {
		b := blocks[i]
		if !strings.Contains(strings.SplitN(b, "\n", 2)[0], w.status) {
			t.Errorf("request %d: status line %q, want %s", i+1, strings.SplitN(b, "\n", 2)[0], w.status)
		}
		for _, l := range w.lines {
			if !strings.Contains(b, l) {
				t.Errorf("request %d lacks %q:\n%s", i+1, l, b)
			}
		}
		if n := strings.Count(b, "\ntrace "); n != 1 {
			t.Errorf("request %d: %d traces drawn, want 1", i+1, n)
		}
		if n := len(regexp.MustCompile(`(?m)^ +\+\S+ +(frontend|orders|payments) `).FindAllString(b, -1)); n != w.logs {
			t.Errorf("request %d: %d log lines, want %d:\n%s", i+1, n, w.logs, b)
		}
		// What newcomers tripped over: stuttering errors, 0µs, an empty trail drawn as ")".
		for _, bad := range []string{"shopdb: place order", "Payment Required: charge", " 0µs", "breadcrumbs: )"} {
			if strings.Contains(b, bad) {
				t.Errorf("request %d shows %q:\n%s", i+1, bad, b)
			}
		}
		// Every failed span says why.
		for _, line := range strings.Split(b, "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), "✗") {
				t.Errorf("request %d: a ✗ with no reason: %q", i+1, line)
			}
		}
	}
	// After the waterfalls, the evidence of spans/evidence: CPU by route, a capture that says
	// blocked, goroutines left behind by /track.
	ev := s[strings.Index(s, "── evidence"):]
	for _, re := range []string{
		`(?m)^  /recommendations +\d+%  \S+  example trace [0-9a-f]{32}$`,
		`(?m)^Slow request: GET /inventory took \S+ \(over its 100ms threshold\): capture c\d+$`,
		`(?m)^  blocked on locks/channels \d+\.\dms · running `,
		`(?m)^Left behind: /track has 3 goroutines still running after its requests ended \(started in github.com/ctxtrail/ctxtrail/examples/shop.\(\*evidenceRoutes\).track.func1\); example trace [0-9a-f]{32}$`,
	} {
		if !regexp.MustCompile(re).MatchString(ev) {
			t.Errorf("the evidence section lacks %s:\n%s", re, ev)
		}
	}
	if m := regexp.MustCompile(`blocked on locks/channels (\d+)`).FindStringSubmatch(ev); m != nil {
		if ms, _ := strconv.Atoi(m[1]); ms < 100 {
			t.Errorf("/inventory blocked %sms, want at least its 100ms threshold", m[1])
		}
	}
	if strings.Contains(ev, "Left behind: /checkout") {
		t.Errorf("the checkout's pooled connections counted as left behind:\n%s", ev)
	}
	if !strings.Contains(s, "The shop has stopped. `go run ./examples/demo -serve` keeps it running") {
		t.Errorf("last lines:\n%s", s[strings.LastIndex(s, "── request"):])
	}
}

// The README shows request 2 as the demo prints it. Bars, durations and IDs change from run to
// run; everything else (the tree, the error marks and reasons, the log lines) must match a
// fresh run. go test ./examples/demo -run README -update rewrites the sample.
func TestREADMESample(t *testing.T) {
	const readme = "../../README.md"
	const marker = "<!-- demo sample: request 2, checked by examples/demo's TestREADMESample -->"
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("README.md lacks the marker %q before the demo sample", marker)
	}
	start := i + len(marker) + len("\n```\n")
	end := start + strings.Index(doc[start:], "```\n")
	if !strings.HasPrefix(doc[i+len(marker):], "\n```\n") || end < start {
		t.Fatalf("README.md: the marker is not followed by a code block")
	}
	sample := doc[start:end]

	s := runDemo(t)
	b := strings.Split(s, "── request ")[2]
	fresh := "── request " + strings.TrimRight(b, "\n") + "\n"
	if *update {
		if err := os.WriteFile(readme, []byte(doc[:start]+fresh+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, want := mask(sample), mask(fresh); got != want {
		t.Errorf("README.md's demo sample is stale (go test ./examples/demo -run README -update rewrites it)\nREADME, masked:\n%s\nfresh run, masked:\n%s", got, want)
	}
}

var (
	maskBar = regexp.MustCompile(`\|[█ ]+\|`)
	maskDur = regexp.MustCompile(` +\+?[0-9.]+(ns|µs|ms|s)\b`)
	maskHex = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
)

// mask hides what differs between runs: bars, durations and offsets, trace IDs.
func mask(s string) string {
	s = maskBar.ReplaceAllString(s, "|bar|")
	s = maskDur.ReplaceAllString(s, " <d>")
	return maskHex.ReplaceAllString(s, "<id>")
}

func TestMaskCatchesAChange(t *testing.T) {
	a := "  orders  └ POST   |  ███   |    1.9ms  ✗ 402 Payment Required\n      +2.4ms  payments  warn   x\n"
	b := "  orders  └ POST   |█       |   12.0ms  ✗ 402 Payment Required\n    +12.4ms  payments  warn   x\n"
	if mask(a) != mask(b) {
		t.Errorf("runs differ after masking:\n%s\n%s", mask(a), mask(b))
	}
	if c := strings.Replace(b, "402", "500", 1); mask(a) == mask(c) {
		t.Error("mask hides a changed reason")
	}
}

// syncWriter lets the test read what run writes from another goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// With -serve the shop keeps running after the demo's requests, the monitor pages the demo
// names answer, and a new request is printed live; cancelling stops it all.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncWriter
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-serve"}, &out) }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Live span monitors") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not serving after 30s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // the monitor list is written just after the heading
	var urls []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasSuffix(f[1], "/debug/ctxtrail") {
			urls = append(urls, f[1])
		}
	}
	if len(urls) != 2 { // frontend and orders; payments serves only gRPC
		t.Fatalf("monitor URLs %v:\n%s", urls, out.String())
	}
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", u, resp.Status)
		}
	}
	front := strings.TrimSuffix(urls[0], "/debug/ctxtrail")
	resp, err := http.Get(front + "/checkout?user=ada@example.com&item=pen&card=4242")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("x-trace-id")
	for !strings.Contains(out.String(), "trace "+id) {
		if time.Now().After(deadline) {
			t.Fatalf("trace %s of a request sent while serving not printed:\n%s", id, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
