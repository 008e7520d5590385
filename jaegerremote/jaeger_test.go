package jaegerremote_test

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
)

// remoteSamplingConfig is a Jaeger v2 config that serves file-based sampling strategies on
// loopback ports chosen by the test. Jaeger rereads the file every reload_interval. The traces
// pipeline is there because the collector refuses to start without one.
const remoteSamplingConfig = `
service:
  extensions: [jaeger_storage, remote_sampling]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 1000
  remote_sampling:
    file:
      path: %[1]s
      reload_interval: 100ms
    http:
      endpoint: %[2]s
    grpc:
      endpoint: %[3]s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[4]s
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// strategies is a file-based strategies document: checkout samples at service, its GET /slow
// operation at slow, every other service at 1.
func strategies(service, slow float64) string {
	return fmt.Sprintf(`{
  "default_strategy": {"type": "probabilistic", "param": 1},
  "service_strategies": [{
    "service": "checkout", "type": "probabilistic", "param": %v,
    "operation_strategies": [{"operation": "GET /slow", "type": "probabilistic", "param": %v}]
  }]
}`, service, slow)
}

// The real Jaeger serves per-service and per-operation rates from a file; the test rewrites the
// file and the sampled fractions of checkout's operations follow.
//
// Tolerance: each check starts n = 4000 root spans with random trace IDs; the sampled count is
// binomial, so the fraction's standard deviation is sqrt(p(1-p)/n), at most 0.0079. A check
// passes within 5 standard deviations (+0.005 for the rate limiter floor Jaeger's per-operation
// strategies carry), a false failure about one time in 1.7 million. The rates of the two
// phases differ by 0.3 or more, over 30 deviations, so a sampler still on the old rate cannot
// pass. Once a measurement is within tolerance, a second one, wholly after the switch, must be
// too: that one is the statistical check. The sampler polls every 100ms and Jaeger rereads the file every 100ms; the test waits up
// to 30s (the machine is shared) for the fractions to follow, checking again after each poll.
func TestJaegerRemoteSamplingFollowsStrategies(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "strategies.json")
	write := func(service, slow float64) {
		t.Helper()
		// Write then rename, so Jaeger never reads half a file.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(strategies(service, slow)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(0.5, 0.1)
	ports := jaegertest.Ports(t, 3)
	endpoint := "http://" + jaegertest.Addr(ports[0]) + "/sampling"
	cfg := fmt.Sprintf(remoteSamplingConfig, file, jaegertest.Addr(ports[0]), jaegertest.Addr(ports[1]), jaegertest.Addr(ports[2]))
	jaeger := jaegertest.Start(t, dir, cfg, endpoint+"?service=checkout")

	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
	// initialSamplingRate 0: neither phase's rates, so a sampler that never reached Jaeger fails.
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+endpoint+",pollingIntervalMs=100,initialSamplingRate=0")
	p := install(t, ctxtrail.WithoutExporter(), ctxtrail.WithServiceName("checkout"))

	const n = 4000
	within := func(got, want float64) bool {
		return math.Abs(got-want) <= 5*math.Sqrt(want*(1-want)/n)+0.005
	}
	follow := func(phase string, service, slow float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			gotService := sampledFraction(p, "GET /orders", n)
			gotSlow := sampledFraction(p, "GET /slow", n)
			if within(gotService, service) && within(gotSlow, slow) {
				// Followed. That measurement may have straddled the switch, so the test proper is
				// a fresh one, taken wholly after it, which must pass.
				gotService, gotSlow = sampledFraction(p, "GET /orders", n), sampledFraction(p, "GET /slow", n)
				t.Logf("%s: GET /orders sampled %.4f (want %v), GET /slow %.4f (want %v)", phase, gotService, service, gotSlow, slow)
				if !within(gotService, service) || !within(gotSlow, slow) {
					t.Fatalf("%s: outside the tolerance on the confirming measurement", phase)
				}
				return
			}
			if time.Now().After(deadline) {
				resp, err := http.Get(endpoint + "?service=checkout")
				served := fmt.Sprint(err)
				if err == nil {
					var b strings.Builder
					_, _ = fmt.Fprint(&b, resp.Status)
					buf := make([]byte, 2048)
					k, _ := resp.Body.Read(buf)
					_ = resp.Body.Close()
					served = b.String() + " " + string(buf[:k])
				}
				t.Fatalf("%s: after 30s GET /orders sampled %.4f (want %v), GET /slow %.4f (want %v); Jaeger serves %s; log:\n%s",
					phase, gotService, service, gotSlow, slow, served, jaeger.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	follow("initial file", 0.5, 0.1)
	write(0.2, 0.8)
	follow("rewritten file", 0.2, 0.8)
	write(0.9, 0.5)
	follow("rewritten again", 0.9, 0.5)
}
