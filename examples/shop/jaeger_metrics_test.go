package shop_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/shop"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// jaegerBinary returns the Jaeger v2 binary scripts/jaeger.sh builds, or skips (fails under
// CI=true, where .ci/run builds it).
func jaegerBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CTXTRAIL_JAEGER_BIN")
	if bin == "" {
		cache := os.Getenv("CTXTRAIL_CACHE")
		if cache == "" {
			if xdg := os.Getenv("XDG_CACHE_HOME"); xdg != "" {
				cache = filepath.Join(xdg, "ctxtrail")
			} else {
				home, _ := os.UserHomeDir()
				cache = filepath.Join(home, ".cache", "ctxtrail")
			}
		}
		bin = filepath.Join(cache, "jaeger-v1.76.0", "jaeger")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Jaeger binary at %s: .ci/run builds it with scripts/jaeger.sh", bin)
		}
		t.Skipf("no Jaeger binary at %s (scripts/jaeger.sh builds it)", bin)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestJaegerSpanMetrics runs a Jaeger v2 of its own with the span-metrics configuration
// docker-compose.yml mounts (examples/shop/compose/jaeger.yaml, its listeners moved to free
// loopback ports and the connector told to flush every second), sends the shop's traffic through
// the three services, which also push their own metrics over OTLP, and scrapes Jaeger's
// Prometheus exporter: per-operation call counts and the services' request counts must match
// what was sent.
func TestJaegerSpanMetrics(t *testing.T) {
	jaeger := jaegerBinary(t)
	if testing.Short() {
		t.Skip("builds and starts processes")
	}
	raw, err := os.ReadFile(filepath.Join("compose", "jaeger.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	cfg := string(raw)
	for _, p := range []string{"4317", "4318", "16686", "16685", "8889"} {
		ports[p] = freePort(t)
		if !strings.Contains(cfg, `"0.0.0.0:`+p+`"`) {
			t.Fatalf("compose/jaeger.yaml has no listener on 0.0.0.0:%s", p)
		}
		cfg = strings.ReplaceAll(cfg, `"0.0.0.0:`+p+`"`, `"`+ports[p]+`"`)
	}
	cfg = strings.Replace(cfg, "connectors:\n  spanmetrics:\n", "connectors:\n  spanmetrics:\n    metrics_flush_interval: 1s\n", 1)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	jcmd := exec.Command(jaeger, "--config", cfgPath)
	jlog, _ := os.Create(filepath.Join(dir, "jaeger.log"))
	defer jlog.Close()
	jcmd.Stdout, jcmd.Stderr = jlog, jlog
	if err := jcmd.Start(); err != nil {
		t.Fatal(err)
	}
	jdone := make(chan error, 1)
	go func() { jdone <- jcmd.Wait() }()
	defer func() {
		_ = jcmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-jdone:
		case <-time.After(15 * time.Second):
			_ = jcmd.Process.Kill()
			<-jdone
		}
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "jaeger.log"))
			t.Logf("jaeger log (tail):\n%s", tail(string(out), 3000))
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	waitFor(t, 60*time.Second, "Jaeger to answer", func() bool {
		resp, err := client.Get("http://" + ports["16686"] + "/api/services")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	bin := filepath.Join(dir, "shop")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shop").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	otlp := "http://" + ports["4318"]
	metricsEnv := []string{"OTEL_METRICS_EXPORTER=otlp", "OTEL_METRIC_EXPORT_INTERVAL=500"}
	payments := startService(t, bin, shop.Payments, otlp, metricsEnv)
	orders := startService(t, bin, shop.Orders, otlp, append([]string{shop.EnvPaymentsURL + "=grpc://" + strings.TrimPrefix(payments.url, "http://")}, metricsEnv...))
	frontend := startService(t, bin, shop.Frontend, otlp, append([]string{shop.EnvOrdersURL + "=" + orders.url}, metricsEnv...))

	const paid, declined = 4, 3
	for i := range paid + declined {
		card, want := "4242", http.StatusOK
		if i >= paid {
			card, want = "0000", http.StatusPaymentRequired
		}
		resp, err := client.Get(fmt.Sprintf("%s/checkout?user=ada@example.com&item=book&card=%s", frontend.url, card))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %s, want %d", i, resp.Status, want)
		}
	}
	for _, s := range []*service{frontend, orders, payments} {
		s.stop(t) // flushes spans and the last metrics
	}

	// Per operation, as the Monitor tab shows them: calls by service, span name and kind.
	want := map[string]float64{
		"frontend|GET /checkout|SPAN_KIND_SERVER":        paid + declined,
		"orders|POST /orders|SPAN_KIND_SERVER":           paid + declined,
		"payments|shop.Payments/Charge|SPAN_KIND_SERVER": paid + declined,
		"orders|shop.Payments/Charge|SPAN_KIND_CLIENT":   paid + declined,
	}
	var got map[string]float64
	var fams map[string]*dto.MetricFamily
	waitFor(t, 60*time.Second, "span metrics to match", func() bool {
		fams = scrapeProm(t, client, "http://"+ports["8889"]+"/metrics")
		got = map[string]float64{}
		if f := fams["traces_span_metrics_calls_total"]; f != nil {
			for _, m := range f.Metric {
				got[labelOf(m, "service_name")+"|"+labelOf(m, "span_name")+"|"+labelOf(m, "span_kind")] += m.GetCounter().GetValue()
			}
		}
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}, func() { t.Logf("calls %v, want %v", got, want) })

	// The services' own metrics, pushed over OTLP, next to the span metrics.
	waitFor(t, 30*time.Second, "the services' own request counts", func() bool {
		fams = scrapeProm(t, client, "http://"+ports["8889"]+"/metrics")
		var n float64
		if f := fams["http_server_request_duration_seconds"]; f != nil {
			for _, m := range f.Metric {
				if labelOf(m, "job") == shop.Frontend && labelOf(m, "http_route") == "/checkout" {
					n += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return n == paid+declined
	}, func() {
		var names []string
		for k := range fams {
			names = append(names, k)
		}
		t.Logf("families: %v", names)
	})
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool, onFail ...func()) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			for _, f := range onFail {
				f()
			}
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func scrapeProm(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Logf("parse %s: %v", url, err)
		return nil
	}
	return fams
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
