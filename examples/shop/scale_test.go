package shop_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/examples/shopdb"
	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
)

var (
	scaleRequests    = flag.Int("scale.requests", 1500, "TestScaleTwoTiers: checkout requests sent (one in five declined)")
	scaleConcurrency = flag.Int("scale.concurrency", 8, "TestScaleTwoTiers: requests in flight")
)

// The gateway's settings in TestScaleTwoTiers, through the environment variables
// deploy/jaeger/gateway.yaml reads.
const (
	scaleKeepPercent  = 25
	scaleDecisionWait = 2 * time.Second
)

// TestScaleTwoTiers runs the topology of docker-compose.yml's scale profile as processes: the
// storage tier (deploy/jaeger/storage.yaml, Badger in a temp dir) and the gateway tier
// (gateway.yaml: tail sampling keeps every trace with an error and scaleKeepPercent of the
// rest), both on free ports, and the shop's three services exporting every span (the SDK
// samples 100%) to the gateway. It sends checkouts under load, one in five declined, then
// compares what the storage tier's query API returns (GET /api/v3/traces/{id}) with what the
// services emitted, which each also writes to its stdout through the console exporter:
//
//   - every trace with an error span is stored, whole: the same span IDs, every parent present;
//   - the traces without an error are kept at scaleKeepPercent%, within 5 standard deviations
//     of the binomial count (a false failure once in about 1.7 million runs), and each kept one
//     is whole: a trace is stored whole or not at all, never partly;
//   - after the storage process is killed (SIGKILL: no flush, no close) and started again on
//     the same Badger directory, every trace the query API returned before is returned again,
//     whole.
//
// It needs the Jaeger binary (internal/jaegertest); -scale.requests sets the load.
func TestScaleTwoTiers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shop, starts five processes")
	}
	jaegertest.Binary(t) // skip (fail under CI=true) before building anything
	dir := t.TempDir()
	bin := filepath.Join(dir, "shop")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shop").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := seedOrdersDB(t, filepath.Join(dir, "orders.db"))

	tiers := jaegertest.StartTiers(t, filepath.Join("..", "..", "deploy", "jaeger"), filepath.Join(dir, "badger"),
		"GATEWAY_KEEP_PERCENT="+strconv.Itoa(scaleKeepPercent),
		"GATEWAY_DECISION_WAIT="+scaleDecisionWait.String(),
		"GATEWAY_SLOW_MS=600000", // no checkout takes ten minutes: only errors and the share are kept
	)

	frontend, orders, payments := startShop(t, bin, dir, db, tiers.OTLP, func(string) []string { return nil })

	start := time.Now()
	// One checkout in five with the declined card.
	sent := sendLoad(t, frontend.url, *scaleRequests, *scaleConcurrency, func(i int) (string, int) {
		if i%5 == 4 {
			return "0000", http.StatusPaymentRequired
		}
		return "4242", http.StatusOK
	})
	loadTime := time.Since(start)
	for _, s := range []*loggedService{frontend, orders, payments} {
		s.stop(t) // SIGTERM: each flushes its spans to the gateway and to its stdout
	}

	// What the services emitted, by trace: the console exporter's lines on their stdout.
	truth := emitted(t, frontend, orders, payments)
	nspans := 0
	for _, spans := range truth {
		nspans += len(spans)
	}
	var errTraces, okTraces []string
	for _, id := range sent {
		spans := truth[id]
		if len(spans) == 0 {
			t.Fatalf("trace %s: the frontend answered with it, but no service emitted a span of it", id)
		}
		if err := whole(spans); err != nil {
			t.Fatalf("trace %s as the services emitted it is not whole (%v): the test cannot judge the tiers", id, err)
		}
		if slices.ContainsFunc(spans, func(s waterfall.Span) bool { return s.Error }) {
			errTraces = append(errTraces, id)
		} else {
			okTraces = append(okTraces, id)
		}
	}
	// A few more traces than requests: orders' start-up (schema, seed) runs outside any request.
	// They go through the gateway too (waitDrained counts them) but are not judged.
	t.Logf("load: %d requests in %v (%.0f/s), %d spans in %d traces (%.0f spans/s into the gateway); %d traces with an error, %d without",
		len(sent), loadTime.Round(time.Millisecond), float64(len(sent))/loadTime.Seconds(), nspans, len(truth),
		float64(nspans)/loadTime.Seconds(), len(errTraces), len(okTraces))
	if len(errTraces) == 0 || len(okTraces) == 0 {
		t.Fatalf("want both kinds of trace: %d with an error, %d without", len(errTraces), len(okTraces))
	}

	// The gateway decides a trace scaleDecisionWait after its first span; wait until it has
	// decided every trace and the storage tier has written all it was sent.
	drainStart := time.Now()
	waitDrained(t, tiers, len(truth))
	t.Logf("drained %v after the services stopped", time.Since(drainStart).Round(time.Millisecond))

	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	stored := fetchAll(t, client, tiers.Query, sent)

	var kept []string
	badErr, partial := 0, 0
	for _, id := range errTraces {
		if err := sameSpans(truth[id], stored[id]); err != nil {
			if badErr++; badErr <= 5 {
				t.Errorf("error trace %s: %v", id, err)
			}
		}
		kept = append(kept, id)
	}
	keptOK := 0
	for _, id := range okTraces {
		if len(stored[id]) == 0 {
			continue
		}
		keptOK++
		kept = append(kept, id)
		if err := sameSpans(truth[id], stored[id]); err != nil {
			if partial++; partial <= 5 {
				t.Errorf("kept trace %s is partial: %v", id, err)
			}
		}
	}
	if badErr > 0 || partial > 0 {
		t.Errorf("%d of %d error traces missing or partial in storage; %d of the kept others partial", badErr, len(errTraces), partial)
	}
	n, p := float64(len(okTraces)), scaleKeepPercent/100.0
	mean, sd := n*p, math.Sqrt(n*p*(1-p))
	t.Logf("kept: %d of %d error traces, %d of %d others (%.1f%%; want %d%%, %.0f ± %.0f at 5 sd)",
		len(errTraces), len(errTraces), keptOK, len(okTraces), 100*float64(keptOK)/n, scaleKeepPercent, mean, 5*sd)
	if math.Abs(float64(keptOK)-mean) > 5*sd {
		t.Errorf("the gateway kept %d of %d traces without an error: %.1f%%, want %d%% ± %.1f points (5 sd)",
			keptOK, len(okTraces), 100*float64(keptOK)/n, scaleKeepPercent, 100*5*sd/n)
	}
	if t.Failed() {
		return
	}

	// Storage killed as a crash would, then started on the same directory: Badger's write-ahead
	// log is a memory-mapped file, so what it accepted survives the process (not a power cut:
	// that takes BADGER_SYNC_WRITES=true, see storage.yaml).
	restart := time.Now()
	tiers.Storage.Kill()
	tiers.RestartStorage(t)
	again := fetchAll(t, client, tiers.Query, kept)
	t.Logf("storage killed, restarted and %d traces read again in %v", len(kept), time.Since(restart).Round(time.Millisecond))
	lost := 0
	for _, id := range kept {
		if err := sameSpans(stored[id], again[id]); err != nil {
			lost++
			if lost <= 5 {
				t.Errorf("after SIGKILL and restart, trace %s: %v", id, err)
			}
		}
	}
	if lost > 0 {
		t.Errorf("after SIGKILL and restart, %d of %d kept traces are missing or changed", lost, len(kept))
	}
}

// seedOrdersDB creates the orders service's SQLite database with a customer whose credit lasts
// the whole load (the seeded ones run out after a few hundred orders).
func seedOrdersDB(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := shopdb.CreateSchema(ctx, db, shopdb.SQLite); err != nil {
		t.Fatal(err)
	}
	if _, err := shopdb.New(db).CreateUser(ctx, scaleUser, "Load", 1<<50); err != nil {
		t.Fatal(err)
	}
	return path
}

const scaleUser = "load@example.com"

// sendLoad sends n checkouts, concurrency at a time, the i-th with the card card(i) names and
// answered with the status it names (0: any), and returns the trace IDs the frontend answered
// with. card is called from several goroutines.
func sendLoad(t *testing.T, frontend string, n, concurrency int, card func(i int) (string, int)) []string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	ids := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				card, want := card(i)
				resp, err := client.Get(frontend + "/checkout?user=" + scaleUser + "&item=pen&card=" + card)
				if err != nil {
					errs[i] = err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ids[i] = resp.Header.Get("x-trace-id")
				if want != 0 && (resp.StatusCode != want || len(ids[i]) != 32) {
					errs[i] = fmt.Errorf("card %s: %s, x-trace-id %q; want %d", card, resp.Status, ids[i], want)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("checkouts failed: %.2000v", err)
	}
	return ids
}

// whole reports whether spans form one whole trace: one root, every parent present, no span twice.
func whole(spans []waterfall.Span) error {
	ids := map[string]bool{}
	for _, s := range spans {
		if ids[s.SpanID] {
			return fmt.Errorf("span %s twice", s.SpanID)
		}
		ids[s.SpanID] = true
	}
	roots := 0
	for _, s := range spans {
		switch {
		case s.ParentID == "":
			roots++
		case !ids[s.ParentID]:
			return fmt.Errorf("%s/%s has parent %s, which is not in the trace", s.Service, s.Name, s.ParentID)
		}
	}
	if roots != 1 {
		return fmt.Errorf("%d roots", roots)
	}
	return nil
}

// sameSpans reports how got differs from want (the spans the services emitted): a span missing
// or extra, a span changed in name, service or parent, or got not whole.
func sameSpans(want, got []waterfall.Span) error {
	if len(got) == 0 {
		return errors.New("not in storage")
	}
	byID := map[string]waterfall.Span{}
	for _, s := range got {
		byID[s.SpanID] = s
	}
	var missing []string
	for _, w := range want {
		g, ok := byID[w.SpanID]
		if !ok {
			missing = append(missing, w.Service+"/"+w.Name)
			continue
		}
		if g.Name != w.Name || g.Service != w.Service || g.ParentID != w.ParentID || g.TraceID != w.TraceID {
			return fmt.Errorf("span %s stored as %s/%s under %s, emitted as %s/%s under %s",
				w.SpanID, g.Service, g.Name, g.ParentID, w.Service, w.Name, w.ParentID)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%d of %d spans stored, missing %v", len(want)-len(missing), len(want), missing)
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d spans stored, %d emitted", len(got), len(want))
	}
	return whole(got)
}

// fetchAll reads each trace from the query API, four at a time; a trace not found is absent
// from the map, any other failure fails the test.
func fetchAll(t *testing.T, client *http.Client, query string, ids []string) map[string][]waterfall.Span {
	t.Helper()
	var (
		mu   sync.Mutex
		out  = map[string][]waterfall.Span{}
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan string)
	for range 4 {
		wg.Go(func() {
			for id := range next {
				spans, err := waterfall.FetchJaeger(context.Background(), client, query, id)
				mu.Lock()
				switch {
				case err == nil:
					out[id] = spans
				case !errors.Is(err, waterfall.ErrTraceNotFound):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("query API: %.2000v", err)
	}
	return out
}

// waitDrained waits until the gateway has dealt with all traces (its tail_sampling counters of
// decided traces, and of traces evicted undecided, add up to traces) and the storage tier has
// written everything the gateway exported, as both tiers' own metrics count them, with nothing
// more exported for a second, for at most a minute past the decision wait. An evicted trace is
// reported here; the checks after find what it cost.
func waitDrained(t *testing.T, tiers *jaegertest.Tiers, traces int) {
	t.Helper()
	deadline := time.Now().Add(scaleDecisionWait + time.Minute)
	var decided, evicted, exported, written float64
	var stableAt struct {
		exported float64
		since    time.Time
	}
	stableAt.exported = -1
	for {
		var err error
		decided, err = jaegertest.Metric(tiers.GatewayMetrics, "otelcol_processor_tail_sampling_global_count_traces_sampled", "")
		if err == nil {
			// Absent until the first eviction.
			evicted, _ = jaegertest.Metric(tiers.GatewayMetrics, "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early", "")
			exported, err = jaegertest.Metric(tiers.GatewayMetrics, "otelcol_exporter_sent_spans", "")
		}
		if err == nil {
			written, err = jaegertest.Metric(tiers.StorageMetrics, "otelcol_exporter_sent_spans", "")
		}
		done := err == nil && decided+evicted >= float64(traces) && written == exported
		if !done || exported != stableAt.exported {
			stableAt.exported, stableAt.since = exported, time.Now()
		}
		// The last decided traces may still sit in the gateway's batch processor (200ms): done
		// only once nothing more was exported for a second.
		if done && time.Since(stableAt.since) >= time.Second {
			if evicted > 0 {
				t.Errorf("the gateway evicted %v traces before deciding them (num_traces too small for the load)", evicted)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tiers not drained: the gateway decided %v and evicted %v of %d traces and exported %v spans, storage wrote %v (%v)",
				decided, evicted, traces, exported, written, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// loggedService is a shop process whose stdout (JSON log lines and, with the console exporter,
// one JSON line per span) goes to a file.
type loggedService struct {
	name, url, stdout string
	cmd               *exec.Cmd
	done              chan error
}

// startShop starts payments, orders (on db) and the frontend, each calling the next, with
// startLogged, and env(service) added to each one's environment.
func startShop(t *testing.T, bin, dir, db, otlp string, env func(service string) []string) (frontend, orders, payments *loggedService) {
	t.Helper()
	payments = startLogged(t, bin, dir, shop.Payments, otlp, env(shop.Payments))
	orders = startLogged(t, bin, dir, shop.Orders, otlp, slices.Concat(env(shop.Orders), []string{
		shop.EnvPaymentsURL + "=grpc://" + strings.TrimPrefix(payments.url, "http://"), shop.EnvDB + "=" + db}))
	frontend = startLogged(t, bin, dir, shop.Frontend, otlp, slices.Concat(env(shop.Frontend), []string{shop.EnvOrdersURL + "=" + orders.url}))
	return frontend, orders, payments
}

// startLogged starts one shop service on a free port, exporting every span over OTLP to otlp
// and as JSON lines to its stdout file, and waits until it listens.
func startLogged(t *testing.T, bin, dir, name, otlp string, env []string) *loggedService {
	t.Helper()
	s := &loggedService{name: name, stdout: filepath.Join(dir, name+".out"), done: make(chan error, 1)}
	out, err := os.Create(s.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own descriptor
	s.cmd = exec.Command(bin)
	s.cmd.Env = append(os.Environ(),
		shop.EnvService+"="+name,
		shop.EnvAddr+"=127.0.0.1:0",
		"OTEL_SERVICE_NAME="+name,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp,
		"OTEL_TRACES_SAMPLER=parentbased_always_on", // the SDK keeps everything; the gateway samples
		"OTEL_TRACES_EXPORTER=otlp,console",         // console: the record of what was emitted
		"OTEL_LOGS_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"OTEL_BSP_MAX_QUEUE_SIZE=200000", // no span dropped in the SDK: a partial trace is the tiers' doing
	)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout = out // a file, not a pipe: a span line longer than a pipe's atomic write stays whole
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if addr := listeningAddr(s.stdout); addr != "" {
			s.url = "http://" + addr
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("%s exited before listening: %v", name, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 30s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listeningAddr returns the address of the "listening host:port" line in the file, if any.
func listeningAddr(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), `"msg":"listening `); ok {
			if addr, _, ok := strings.Cut(rest, `"`); ok {
				return addr
			}
		}
	}
	return ""
}

func (s *loggedService) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM", s.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM", s.name)
	}
}
