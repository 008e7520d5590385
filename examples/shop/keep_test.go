package shop_test

import (
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
)

var (
	keepRequests    = flag.Int("keep.requests", 400, "TestKeepEndToEnd: checkout requests sent")
	keepConcurrency = flag.Int("keep.concurrency", 4, "TestKeepEndToEnd: requests in flight")
)

// The services' settings in TestKeepEndToEnd.
const (
	keepHeadRatio = 0.1                   // OTEL_TRACES_SAMPLER_ARG: one trace in ten sampled at the head
	keepSlow      = 50 * time.Millisecond // payments' CTXTRAIL_KEEP_SLOW; the others keep no trace for being slow
)

// checkout is one request TestKeepEndToEnd sent and what it was.
type checkout struct {
	traceID string
	kind    string // ok, declined or slow
}

// TestKeepEndToEnd runs the shop's three services as processes with the in-process capture on
// (CTXTRAIL_KEEP=errors-and-slow) and one trace in ten sampled at the head, exporting straight
// to a real Jaeger (deploy/jaeger's storage tier; no gateway), under load: one checkout in ten
// declined (payments' "authorize card" fails, every service sees an error), one in ten slow
// (payments answers after SlowIssuerDelay and succeeds: only payments knows, since only its
// slow threshold is set, so orders and the frontend keep their parts only because the keep
// signal climbs back: gRPC trailer to orders, HTTP header to the frontend), the rest fast and
// successful. Each service also writes what it exported to its stdout (the console exporter).
// Then, from Jaeger's query API:
//
//   - every declined and every slow request's trace is stored whole, with the same spans the
//     services exported, and the chain from payments' "authorize card" span up to the root
//     holds a span of each of the three services;
//   - a fast successful request is stored exactly when the head sampled its trace (the SDK's
//     TraceIDRatioBased rule, computed from the trace ID), unless payments was slow on it by
//     the threshold (then it is a slow request too, and reported).
//
// It fails when the frontend's Transport ignores the keep signal (see RELIABILITY.md).
func TestKeepEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shop, starts five processes")
	}
	jaegertest.Binary(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "shop")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shop").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := seedOrdersDB(t, filepath.Join(dir, "orders.db"))
	tiers := jaegertest.StartTiers(t, filepath.Join("..", "..", "deploy", "jaeger"), filepath.Join(dir, "badger"))

	frontend, orders, payments := startShop(t, bin, dir, db, tiers.StorageOTLP, func(service string) []string {
		slow := time.Duration(0)
		if service == shop.Payments {
			slow = keepSlow
		}
		return []string{
			ctxtrail.EnvKeep + "=errors-and-slow", ctxtrail.EnvKeepSlow + "=" + slow.String(),
			"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=" + strconv.FormatFloat(keepHeadRatio, 'f', -1, 64),
		}
	})

	start := time.Now()
	sent := sendMixedCheckouts(t, frontend.url, *keepRequests, *keepConcurrency)
	t.Logf("load: %d requests in %v", len(sent), time.Since(start).Round(time.Millisecond))
	for _, s := range []*loggedService{frontend, orders, payments} {
		s.stop(t) // SIGTERM: each flushes what it kept
	}
	truth := emitted(t, frontend, orders, payments)

	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var ids []string
	for id := range truth {
		ids = append(ids, id)
	}
	stored := waitStored(t, client, tiers.Query, truth, ids)

	counts := map[string]int{}
	headOK, slowOK, bad := 0, 0, 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, c := range sent {
		counts[c.kind]++
		spans := stored[c.traceID]
		switch c.kind {
		case "declined", "slow":
			if err := sameSpans(truth[c.traceID], spans); err != nil {
				fail("%s request, trace %s: %v", c.kind, c.traceID, err)
				continue
			}
			if err := pathToRoot(spans, shop.Payments, "authorize card", shop.Payments, shop.Orders, shop.Frontend); err != nil {
				fail("%s request, trace %s: %v", c.kind, c.traceID, err)
			}
		case "ok":
			head := headSampled(c.traceID, keepHeadRatio)
			switch {
			case head && len(spans) == 0:
				fail("fast request, trace %s: sampled at the head but not stored", c.traceID)
			case head:
				headOK++
				if err := sameSpans(truth[c.traceID], spans); err != nil {
					fail("head-sampled trace %s: %v", c.traceID, err)
				}
			case len(spans) > 0 && slowIn(spans, shop.Payments, keepSlow):
				slowOK++ // payments was slow on it under load: kept rightly
			case len(spans) > 0:
				fail("fast successful trace %s stored though not sampled at the head (%d spans)", c.traceID, len(spans))
			}
		}
	}
	t.Logf("sent %v; stored every declined and slow trace checked above; fast ones: %d stored as head-sampled (%.1f%%, head rate %.0f%%), %d kept as slow under load",
		counts, headOK, 100*float64(headOK)/float64(max(counts["ok"], 1)), 100*keepHeadRatio, slowOK)
	if counts["declined"] == 0 || counts["slow"] == 0 || headOK == 0 {
		t.Errorf("the load did not cover every case: %v, %d head-sampled", counts, headOK)
	}
}

// sendMixedCheckouts sends n checkouts, concurrency at a time: one in ten declined, one in ten
// slow, the rest fast, and returns each with the trace ID the frontend answered with.
func sendMixedCheckouts(t *testing.T, frontend string, n, concurrency int) []checkout {
	t.Helper()
	mixed := func(i int) (card, kind string, want int) {
		switch i % 10 {
		case 3:
			return "0000", "declined", http.StatusPaymentRequired
		case 7:
			return "slow", "slow", http.StatusOK
		}
		return "4242", "ok", http.StatusOK
	}
	ids := sendLoad(t, frontend, n, concurrency, func(i int) (string, int) {
		card, _, want := mixed(i)
		return card, want
	})
	out := make([]checkout, n)
	for i, id := range ids {
		_, kind, _ := mixed(i)
		out[i] = checkout{traceID: id, kind: kind}
	}
	return out
}

// emitted reads the spans each service exported (its console exporter's lines), by trace.
func emitted(t *testing.T, services ...*loggedService) map[string][]waterfall.Span {
	t.Helper()
	truth := map[string][]waterfall.Span{}
	for _, s := range services {
		f, err := os.Open(s.stdout)
		if err != nil {
			t.Fatal(err)
		}
		spans, err := waterfall.ReadJSONLines(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range spans {
			truth[sp.TraceID] = append(truth[sp.TraceID], sp)
		}
	}
	return truth
}

// waitStored fetches ids from the query API until every trace matches what the services
// emitted, for up to a minute (the storage tier writes what it receives within moments), and
// returns the last fetch.
func waitStored(t *testing.T, client *http.Client, query string, truth map[string][]waterfall.Span, ids []string) map[string][]waterfall.Span {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		stored := fetchAll(t, client, query, ids)
		missing := 0
		for _, id := range ids {
			if sameSpans(truth[id], stored[id]) != nil {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return stored
		}
		time.Sleep(time.Second)
	}
}

// pathToRoot checks that the span named name of service from exists and that its chain of
// parents reaches the trace's root through spans of every service listed, each parent present.
func pathToRoot(spans []waterfall.Span, from, name string, services ...string) error {
	byID := map[string]waterfall.Span{}
	start := -1
	for i, s := range spans {
		byID[s.SpanID] = s
		if s.Service == from && s.Name == name {
			start = i
		}
	}
	if start < 0 {
		return fmt.Errorf("no %s span %q in the %d spans stored", from, name, len(spans))
	}
	seen := map[string]bool{}
	s := spans[start]
	for hops := 0; ; hops++ {
		seen[s.Service] = true
		if s.ParentID == "" {
			break
		}
		p, ok := byID[s.ParentID]
		if !ok || hops > len(spans) {
			return fmt.Errorf("%s/%s: parent %s missing on the way from %s/%q to the root", s.Service, s.Name, s.ParentID, from, name)
		}
		s = p
	}
	for _, svc := range services {
		if !seen[svc] {
			return fmt.Errorf("no %s span between %s/%q and the root %s/%s", svc, from, name, s.Service, s.Name)
		}
	}
	return nil
}

// headSampled is the SDK's TraceIDRatioBased decision for a hex trace ID.
func headSampled(traceID string, ratio float64) bool {
	b, err := hex.DecodeString(traceID)
	if err != nil || len(b) != 16 {
		return false
	}
	return binary.BigEndian.Uint64(b[8:16])>>1 < uint64(ratio*(1<<63))
}

// slowIn reports whether a server span of service lasted at least d.
func slowIn(spans []waterfall.Span, service string, d time.Duration) bool {
	return slices.ContainsFunc(spans, func(s waterfall.Span) bool {
		return s.Service == service && s.ParentID != "" && s.Duration() >= d && s.Kind.String() == "server"
	})
}
