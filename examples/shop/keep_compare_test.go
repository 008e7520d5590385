package shop_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
)

var (
	keepCompare         = flag.Bool("keep.compare", false, "run TestKeepVersusGateway, a measurement of a few minutes")
	keepCompareRequests = flag.Int("keep.compare.requests", 3000, "TestKeepVersusGateway: checkout requests per mode")
)

// compareRun is what one mode of TestKeepVersusGateway cost.
type compareRun struct {
	mode                  string
	spansSent, bytesSent  int64   // from the services, as the receiving Jaeger accepted them / on the wire
	spansStored           float64 // written by the storage tier
	serviceCPU            time.Duration
	gatewayCPU            time.Duration
	gatewayPeakRSS        int64 // VmHWM, bytes
	storageCPU            time.Duration
	requests, errs, slows int

	ids                          []string // the trace IDs the frontend answered with
	head, failed, slow, unneeded int      // stored traces: sampled at the head, with an error, slow, none of these
}

// TestKeepVersusGateway measures the same load (one checkout in a hundred declined, one in a
// hundred slow) sent three ways to deploy/jaeger's storage tier: (head) each service samples 1%
// at the head and exports straight to storage, nothing more; (capture) each service samples
// 1% at the head and keeps failed and slow traces in process (CTXTRAIL_KEEP), exporting
// straight to storage; (gateway) each service exports every span to the tail-sampling gateway,
// which keeps errors, traces over 100ms and 1% of the rest. It reports spans and bytes the
// services sent (counted by a proxy in front of the receiver), spans stored, CPU in the three
// services (/proc/<pid>/stat, from the start of the load to the end of the drain), CPU and peak
// memory (VmHWM) of the gateway process and CPU of the storage process. It checks nothing but
// that both modes ran; -keep.compare turns it on.
func TestKeepVersusGateway(t *testing.T) {
	if !*keepCompare {
		t.Skip("a measurement: -keep.compare runs it")
	}
	jaegertest.Binary(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "shop")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shop").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var runs []compareRun
	for _, mode := range []string{"head", "capture", "gateway"} {
		runs = append(runs, runCompareMode(t, bin, filepath.Join(dir, mode), mode, *keepCompareRequests))
	}
	var md strings.Builder
	fmt.Fprintf(&md, "| mode | requests (declined, slow) | spans sent | bytes sent | spans sent per 1,000 requests | spans stored | traces stored: error / slow / head / other | CPU in the services | gateway CPU | gateway peak RSS | storage CPU |\n|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
	for _, r := range runs {
		fmt.Fprintf(&md, "| %s | %d (%d, %d) | %d | %d | %.0f | %.0f | %d / %d / %d / %d | %v | %v | %.1f MiB | %v |\n", r.mode, r.requests, r.errs, r.slows,
			r.spansSent, r.bytesSent, 1000*float64(r.spansSent)/float64(r.requests), r.spansStored, r.failed, r.slow, r.head, r.unneeded,
			r.serviceCPU.Round(time.Millisecond), r.gatewayCPU.Round(time.Millisecond),
			float64(r.gatewayPeakRSS)/(1<<20), r.storageCPU.Round(time.Millisecond))
	}
	t.Logf("\n%s", md.String())
}

func runCompareMode(t *testing.T, bin, dir, mode string, n int) compareRun {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := seedOrdersDB(t, filepath.Join(dir, "orders.db"))
	tiers := jaegertest.StartTiers(t, filepath.Join("..", "..", "deploy", "jaeger"), filepath.Join(dir, "badger"),
		"GATEWAY_KEEP_PERCENT=1", "GATEWAY_DECISION_WAIT=2s", "GATEWAY_SLOW_MS=100")
	target, receiverMetrics := tiers.StorageOTLP, tiers.StorageMetrics
	env := []string{ctxtrail.EnvKeep + "=errors-and-slow", ctxtrail.EnvKeepSlow + "=100ms",
		"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.01"}
	switch mode {
	case "head":
		env = env[2:] // 1% at the head and nothing else
	case "gateway":
		target, receiverMetrics = tiers.OTLP, tiers.GatewayMetrics
		env = []string{"OTEL_TRACES_SAMPLER=parentbased_always_on"}
	}
	env = append(env, "OTEL_TRACES_EXPORTER=otlp") // no console copy: it would cost the services CPU
	proxy, bytesIn := countingProxy(t, target)

	frontend, orders, payments := startShop(t, bin, dir, db, proxy, func(string) []string { return env })
	services := []*loggedService{frontend, orders, payments}

	cpu0 := make([]time.Duration, len(services))
	for i, s := range services {
		cpu0[i] = procCPU(t, s.cmd.Process.Pid)
	}
	gw0, st0 := procCPU(t, tiers.Gateway.Pid()), procCPU(t, tiers.Storage.Pid())

	r := compareRun{mode: mode, requests: n}
	sendCompareLoad(t, frontend.url, n, 4, &r)
	time.Sleep(time.Second) // the services' batch processors send within 200ms
	// Drained: what the storage tier wrote has not moved for two seconds, past the gateway's
	// decision wait.
	var last float64 = -1
	stable := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Since(stable) < 3*time.Second {
		stored, err := jaegertest.Metric(tiers.StorageMetrics, "otelcol_exporter_sent_spans", "")
		if err == nil && stored != last {
			last, stable = stored, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: storage never settled (%v, %v)", mode, stored, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, s := range services {
		r.serviceCPU += procCPU(t, s.cmd.Process.Pid) - cpu0[i]
	}
	r.gatewayCPU = procCPU(t, tiers.Gateway.Pid()) - gw0
	r.storageCPU = procCPU(t, tiers.Storage.Pid()) - st0
	r.gatewayPeakRSS = procHWM(t, tiers.Gateway.Pid())
	r.spansStored = last
	sent, err := jaegertest.Metric(receiverMetrics, "otelcol_receiver_accepted_spans", "")
	if err != nil {
		t.Fatal(err)
	}
	r.spansSent, r.bytesSent = int64(sent), bytesIn.Load()
	for _, s := range services {
		s.stop(t)
	}
	// Why each stored trace was kept: an error span, a server span over the slow threshold, the
	// head's 1% (the gateway's probabilistic 1% is another 1%, so "none" counts those there).
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for id, spans := range fetchAll(t, client, tiers.Query, r.ids) {
		switch {
		case slices.ContainsFunc(spans, func(s waterfall.Span) bool { return s.Error }):
			r.failed++
		case slices.ContainsFunc(spans, func(s waterfall.Span) bool {
			return s.Kind.String() == "server" && s.Duration() >= 100*time.Millisecond
		}):
			r.slow++
		case headSampled(id, 0.01):
			r.head++
		default:
			r.unneeded++
		}
	}
	return r
}

// countingProxy forwards OTLP/HTTP to target and counts the request bytes it is sent.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n.Add(int64(len(body)))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// sendCompareLoad sends n checkouts, concurrency at a time: one in a hundred declined, one in a
// hundred slow.
func sendCompareLoad(t *testing.T, frontend string, n, concurrency int, r *compareRun) {
	t.Helper()
	card := func(i int) string {
		switch i % 100 {
		case 3:
			return "0000"
		case 7:
			return "slow"
		}
		return "4242"
	}
	r.ids = sendLoad(t, frontend, n, concurrency, func(i int) (string, int) { return card(i), 0 })
	for i := range n {
		switch card(i) {
		case "0000":
			r.errs++
		case "slow":
			r.slows++
		}
	}
}

// procCPU is the user and system CPU time of a process so far, from /proc/<pid>/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command (in parentheses, which may hold spaces): utime is the 14th field
	// of the line, stime the 15th, in clock ticks (100 a second on Linux).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procHWM is the peak resident memory of a process (VmHWM in /proc/<pid>/status), in bytes.
func procHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
