package shop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/otelctx"
)

// TestJaegerEndToEnd runs the shop as three processes of cmd/shop, the topology of
// docker-compose.yml, exporting OTLP to a real Jaeger v2, and reads every trace back from
// Jaeger's API. .ci/run starts Jaeger (scripts/jaeger.sh start) and sets CTXTRAIL_JAEGER_QUERY
// and CTXTRAIL_JAEGER_OTLP; without them the test skips, except under CI=true.
func TestJaegerEndToEnd(t *testing.T) {
	query, otlp := os.Getenv("CTXTRAIL_JAEGER_QUERY"), os.Getenv("CTXTRAIL_JAEGER_OTLP")
	if query == "" || otlp == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but CTXTRAIL_JAEGER_QUERY/CTXTRAIL_JAEGER_OTLP are unset: .ci/run must start Jaeger")
		}
		t.Skip("no Jaeger: run `scripts/jaeger.sh start` and set CTXTRAIL_JAEGER_QUERY=http://127.0.0.1:16686 CTXTRAIL_JAEGER_OTLP=http://127.0.0.1:4318")
	}
	if testing.Short() {
		t.Skip("builds and starts processes")
	}

	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, "./cmd/shop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Callees first, so each caller can be given its callee's address.
	payments := startService(t, bin, shop.Payments, otlp, nil)
	// payments speaks gRPC: orders reaches it at grpc://host:port.
	orders := startService(t, bin, shop.Orders, otlp, []string{shop.EnvPaymentsURL + "=grpc://" + strings.TrimPrefix(payments.url, "http://")})
	frontend := startService(t, bin, shop.Frontend, otlp, []string{shop.EnvOrdersURL + "=" + orders.url})

	type sent struct {
		query      string
		wantStatus int
		wantSpans  []string // names that must be in the trace
		wantError  string   // a span that must carry error status
	}
	cases := []sent{
		{"user=ada@example.com&item=book&card=4242", 200,
			[]string{"GET /checkout", "POST /orders", "sqltx.transaction", "sqltx.commit", "shop.Payments/Charge", "fraud check", "authorize card", "load recommendations"}, ""},
		{"user=ada@example.com&item=book&card=0000", 402,
			[]string{"GET /checkout", "POST /orders", "sqltx.rollback", "shop.Payments/Charge", "authorize card"}, "authorize card"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	traceIDs := make([]string, len(cases))
	requestIDs := make([]string, len(cases)) // the ID each request ran under, as its logs have it
	for i, c := range cases {
		req, err := http.NewRequest(http.MethodGet, frontend.url+"/checkout?"+c.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 { // one request brings its own ID, the other gets one from the frontend
			req.Header.Set("x-request-id", "e2e-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.wantStatus {
			t.Fatalf("request %d: %s, want %d", i, resp.Status, c.wantStatus)
		}
		traceIDs[i] = resp.Header.Get("x-trace-id")
		if len(traceIDs[i]) != 32 {
			t.Fatalf("request %d: x-trace-id %q", i, traceIDs[i])
		}
		if requestIDs[i] = resp.Header.Get("x-request-id"); requestIDs[i] == "" {
			t.Fatalf("request %d: no x-request-id on the response", i)
		}
	}

	// SIGTERM, as docker compose down sends: each service drains and flushes its spans.
	for _, s := range []*service{frontend, orders, payments} {
		s.stop(t)
	}

	// A tag search for a request ID, as a user pastes it from a log line into Jaeger, finds
	// exactly that request's trace, from the frontend's server span, from orders' and, across
	// the gRPC hop, from payments' (grpcctx's spans carry the ID too).
	for i := range cases {
		for _, svc := range []string{shop.Frontend, shop.Orders, shop.Payments} {
			got := searchTraces(t, query, svc, otelctx.AttrRequestID, requestIDs[i])
			if len(got) != 1 || got[0] != traceIDs[i] {
				t.Errorf("request %d: Jaeger search service=%s %s=%s found traces %v, want exactly [%s]",
					i, svc, otelctx.AttrRequestID, requestIDs[i], got, traceIDs[i])
			}
		}
	}

	for i, c := range cases {
		spans := fetchTrace(t, query, traceIDs[i], len(c.wantSpans))
		byID := map[string]waterfall.Span{}
		services := map[string]bool{}
		for _, s := range spans {
			byID[s.SpanID] = s
			services[s.Service] = true
			if s.TraceID != traceIDs[i] {
				t.Errorf("trace %s holds a span of trace %s", traceIDs[i], s.TraceID)
			}
		}
		for _, want := range shop.Services {
			if !services[want] {
				t.Errorf("trace %d: no span from %s (services %v)", i, want, services)
			}
		}
		roots := 0
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
			if s.ParentID == "" {
				roots++
			} else if _, ok := byID[s.ParentID]; !ok {
				t.Errorf("trace %d: %s/%s has parent %s, which is not in the trace", i, s.Service, s.Name, s.ParentID)
			}
		}
		if roots != 1 {
			t.Errorf("trace %d: %d roots, want 1", i, roots)
		}
		// The gRPC hop: payments' server span is the child of orders' client span of the same
		// name, and payments' own spans hang under it.
		var cliSpan, srvSpan *waterfall.Span
		for i := range spans {
			if s := &spans[i]; s.Name == "shop.Payments/Charge" {
				switch s.Service {
				case shop.Orders:
					cliSpan = s
				case shop.Payments:
					srvSpan = s
				}
			}
		}
		switch {
		case cliSpan == nil || srvSpan == nil:
			t.Errorf("trace %d: no shop.Payments/Charge span on both sides (orders %v, payments %v)", i, cliSpan != nil, srvSpan != nil)
		case srvSpan.ParentID != cliSpan.SpanID:
			t.Errorf("trace %d: payments' server span has parent %s, want orders' client span %s", i, srvSpan.ParentID, cliSpan.SpanID)
		case byID[cliSpan.ParentID].Service != shop.Orders:
			t.Errorf("trace %d: orders' client span hangs under %s/%s", i, byID[cliSpan.ParentID].Service, byID[cliSpan.ParentID].Name)
		}
		for _, s := range spans {
			if s.Name == "authorize card" && (srvSpan == nil || s.ParentID != srvSpan.SpanID) {
				t.Errorf("trace %d: authorize card is not a child of payments' server span", i)
			}
		}
		for _, want := range c.wantSpans {
			if !slices.Contains(names, want) {
				t.Errorf("trace %d: no span %q in %v", i, want, names)
			}
		}
		for _, s := range spans {
			if c.wantError != "" && s.Name == c.wantError && !s.Error {
				t.Errorf("trace %d: %s not marked as an error", i, s.Name)
			}
			if c.wantError == "" && s.Error {
				t.Errorf("trace %d: %s/%s marked as an error in a successful request", i, s.Service, s.Name)
			}
		}
		if t.Failed() {
			var b strings.Builder
			_ = waterfall.Render(&b, spans, waterfall.Options{})
			t.Logf("trace %d as Jaeger has it:\n%s", i, b.String())
		}
	}
}

type service struct {
	name string
	url  string
	cmd  *exec.Cmd
	done chan error
}

// startService starts one shop process on a free loopback port and waits until it listens.
func startService(t *testing.T, bin, name, otlp string, env []string) *service {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		shop.EnvService+"="+name,
		shop.EnvAddr+"=127.0.0.1:0",
		"OTEL_SERVICE_NAME="+name,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp,
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_BSP_SCHEDULE_DELAY=200",
	)
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &service{name: name, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Msg, "listening ") {
				select {
				case addr <- strings.TrimPrefix(line.Msg, "listening "):
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("%s exited before listening: %v", name, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not listen within 30s", name)
	}
	return s
}

func (s *service) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM", s.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM", s.name)
	}
}

// fetchTrace polls Jaeger until the trace has at least minSpans spans and stops growing, for
// at most 30 seconds: Jaeger stores what it receives asynchronously.
func fetchTrace(t *testing.T, query, traceID string, minSpans int) []waterfall.Span {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var last []waterfall.Span
	stable := 0
	for time.Now().Before(deadline) {
		spans, err := waterfall.FetchJaeger(context.Background(), client, query, traceID)
		if err == nil && len(spans) >= minSpans {
			if len(spans) == len(last) {
				stable++
				if stable >= 2 {
					return spans
				}
			} else {
				stable = 0
			}
		}
		last = spans
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("trace %s: Jaeger has %d spans after 30s, want at least %d", traceID, len(last), minSpans)
	return nil
}

// searchTraces asks Jaeger's query API for the traces of service with a span tagged key=value,
// as the UI's tag search does, and returns their IDs. It polls for up to 30 seconds until the
// answer is not empty, since Jaeger stores what it receives asynchronously.
func searchTraces(t *testing.T, query, service, key, value string) []string {
	t.Helper()
	tags, _ := json.Marshal(map[string]string{key: value})
	u := query + "/api/traces?" + url.Values{
		"service": {service}, "tags": {string(tags)}, "lookback": {"1h"}, "limit": {"20"},
	}.Encode()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ids []string
		if resp, err := client.Get(u); err == nil {
			var body struct {
				Data []struct {
					TraceID string `json:"traceID"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				for _, d := range body.Data {
					ids = append(ids, d.TraceID)
				}
			}
		}
		if len(ids) > 0 || time.Now().After(deadline) {
			return ids
		}
		time.Sleep(250 * time.Millisecond)
	}
}
