package jaegerdeploy

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Jaeger's validate command accepts both configs, and refuses a copy with an unknown key (so a
// pass means something).
func TestConfigsValidate(t *testing.T) {
	for _, f := range []string{"gateway.yaml", "storage.yaml"} {
		out, err := jaegertest.Validate(t, f)
		if err != nil {
			t.Errorf("jaeger validate %s: %v\n%s", f, err, out)
		}
	}
	src, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	broken := strings.Replace(string(src), "    decision_wait:", "    decision_wiat: 1s\n    decision_wait:", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := jaegertest.Validate(t, bad); err == nil {
		t.Errorf("jaeger validate accepted an unknown key:\n%s", out)
	}
}

// Both tiers start on free loopback ports, storage with Badger in a temp dir, the gateway
// exporting to it, and each reports ready: storage's query API answers, the gateway's health
// check says it is up.
func TestTiersStart(t *testing.T) { startTiers(t) }

// startTiers starts storage then the gateway (gatewayEnv added to its environment) and returns
// the storage query API's base URL and the gateway's OTLP/HTTP endpoint.
func startTiers(t *testing.T, gatewayEnv ...string) (query, otlp string) {
	t.Helper()
	tt := jaegertest.StartTiers(t, ".", t.TempDir(), gatewayEnv...)
	return tt.Query, tt.OTLP
}

// One trace with an error span and one without, sent at 100% to the gateway keeping 0% of the
// rest: the error trace reaches storage whole (both spans), the other never does. This is the
// smallest case of the two-tier test #20 asks for, not the load test.
func TestGatewayKeepsErrorTrace(t *testing.T) {
	query, otlp := startTiers(t, "GATEWAY_KEEP_PERCENT=0", "GATEWAY_DECISION_WAIT=1s", "GATEWAY_SLOW_MS=600000")
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName("tiers"),
		ctxtrail.WithOTLP(otlp), ctxtrail.WithSampler(sdktrace.AlwaysSample()))
	if err != nil {
		t.Fatal(err)
	}
	trace := func(fail bool) string {
		ctx, root := p.Tracer("t").Start(context.Background(), "GET /checkout")
		_, child := p.Tracer("t").Start(ctx, "charge")
		if fail {
			child.SetStatus(codes.Error, "card declined")
		}
		child.End()
		root.End()
		return root.SpanContext().TraceID().String()
	}
	bad, good := trace(true), trace(false)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Logf("Shutdown: %v", err) // the logs signal may have nowhere to go; spans are checked below
	}
	get := traceGetter(t, query)
	waitWhole(t, get, bad, "error trace", 2)
	// Both traces were decided within the same second; give the batch a moment to land.
	time.Sleep(2 * time.Second)
	if code, body := get(good); code != http.StatusNotFound {
		t.Errorf("ok trace %s with 0%% kept: storage answered %d %.300s, want 404", good, code, body)
	}
}

// While the storage tier is down the gateway keeps what it decided to keep, in its exporter's
// queue, and retries (the OTLP exporter's defaults: 1,000 requests, for up to 5 minutes): an
// error trace sent with storage killed reaches storage, whole, once storage is back.
func TestGatewayRetriesWhileStorageDown(t *testing.T) {
	tiers := jaegertest.StartTiers(t, ".", t.TempDir(), "GATEWAY_KEEP_PERCENT=0", "GATEWAY_DECISION_WAIT=1s", "GATEWAY_SLOW_MS=600000")
	tiers.Storage.Kill()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName("tiers"),
		ctxtrail.WithOTLP(tiers.OTLP), ctxtrail.WithSampler(sdktrace.AlwaysSample()), ctxtrail.WithoutLogs())
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := p.Tracer("t").Start(context.Background(), "GET /checkout")
	_, child := p.Tracer("t").Start(ctx, "charge")
	child.SetStatus(codes.Error, "card declined")
	child.End()
	root.End()
	id := root.SpanContext().TraceID().String()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err) // the gateway is up: it accepted the spans
	}
	// Wait until the gateway has decided and tried storage at least once, and failed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		failed, _ := jaegertest.Metric(tiers.GatewayMetrics, "otelcol_exporter_send_failed_spans", "")
		queued, _ := jaegertest.Metric(tiers.GatewayMetrics, "otelcol_exporter_queue_size", "")
		if failed > 0 || queued > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never tried to export the error trace to the stopped storage; log:\n%.3000s", tiers.Gateway.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tiers.RestartStorage(t)
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	deadline = time.Now().Add(90 * time.Second) // the exporter's backoff reaches 30s between tries
	for {
		resp, err := client.Get(tiers.Query + "/api/v3/traces/" + id)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Count(string(body), `"spanId"`) == 2 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("error trace %s not in storage 90s after it came back", id)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// The latency policy: with 0% of the rest kept and GATEWAY_SLOW_MS=200, a trace of 300ms without
// an error reaches storage whole, one of 10ms never does.
func TestGatewayKeepsSlowTrace(t *testing.T) {
	query, otlp := startTiers(t, "GATEWAY_KEEP_PERCENT=0", "GATEWAY_DECISION_WAIT=1s", "GATEWAY_SLOW_MS=200")
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName("tiers"),
		ctxtrail.WithOTLP(otlp), ctxtrail.WithSampler(sdktrace.AlwaysSample()), ctxtrail.WithoutLogs())
	if err != nil {
		t.Fatal(err)
	}
	traceOf := func(d time.Duration) string {
		start := time.Now().Add(-d)
		ctx, root := p.Tracer("t").Start(context.Background(), "GET /report", trace.WithTimestamp(start))
		_, child := p.Tracer("t").Start(ctx, "query", trace.WithTimestamp(start.Add(time.Millisecond)))
		child.End(trace.WithTimestamp(start.Add(d - time.Millisecond)))
		root.End(trace.WithTimestamp(start.Add(d)))
		return root.SpanContext().TraceID().String()
	}
	slow, fast := traceOf(300*time.Millisecond), traceOf(10*time.Millisecond)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := traceGetter(t, query)
	waitWhole(t, get, slow, "slow trace", 2)
	time.Sleep(2 * time.Second) // decided in the same second as the slow one: let its batch land
	if code, body := get(fast); code != http.StatusNotFound {
		t.Errorf("fast trace %s with 0%% kept: storage answered %d %.300s, want 404", fast, code, body)
	}
}

// traceGetter returns a function that reads one trace from the query API at query: the status
// code and the body (at most 1 MiB), or 0 and the error's text.
func traceGetter(t *testing.T, query string) func(id string) (int, string) {
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return func(id string) (int, string) {
		resp, err := client.Get(query + "/api/v3/traces/" + id)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
}

// waitWhole waits up to 60 s for trace id to be in storage with its spans spans.
func waitWhole(t *testing.T, get func(string) (int, string), id, what string, spans int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(id)
		if code == http.StatusOK && strings.Count(body, `"spanId"`) == spans {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s not in storage whole after 60s: %d %.500s", what, id, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
