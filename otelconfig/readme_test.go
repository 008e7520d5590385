package otelconfig_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelconfig"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
)

// readmeMarker precedes, in the README, the fenced block that must be testdata/service.yaml.
const readmeMarker = "<!-- otelconfig/testdata/service.yaml -->"

// The README's configuration section shows testdata/service.yaml byte for byte.
func TestREADMEShowsServiceFile(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := bytes.Cut(readme, []byte(readmeMarker+"\n```yaml\n"))
	if !ok {
		t.Fatalf("README.md has no %q followed by a ```yaml block", readmeMarker)
	}
	block, _, ok := bytes.Cut(after, []byte("\n```\n"))
	if !ok {
		t.Fatal("the README's yaml block does not end")
	}
	file, err := os.ReadFile("testdata/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(block)+"\n", string(file); got != want {
		t.Errorf("README's block differs from testdata/service.yaml:\n--- README\n%s\n--- file\n%s", got, want)
	}
}

type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) handle(err error) { w.mu.Lock(); w.errs = append(w.errs, err); w.mu.Unlock() }

func (w *warnings) all() []error { w.mu.Lock(); defer w.mu.Unlock(); return slices.Clone(w.errs) }

// The README's file, loaded as the README shows: the three signals reach an OTLP collector
// with the file's resource, a request from outside starts a new trace (the trust boundary) and
// keeps only the allowed baggage, which is copied onto the span, the monitor's page shows the
// span with its latency row and Jaeger link, the capture's metrics reach the collector, the
// evidence Recorder labels the request with its route, and the OTEL_* variables the file
// replaces are ignored and named once.
func TestREADMEServiceFile(t *testing.T) {
	blankOTELEnv(t)
	blankOwnEnv(t)
	t.Setenv("CTXTRAIL_JAEGER_UI_URL", "http://127.0.0.1:16686") // named by the file: it counts
	col := newCollector(t)
	t.Setenv("OTEL_CONFIG_FILE", "testdata/service.yaml")
	t.Setenv("COLLECTOR", col.URL)
	t.Setenv("SERVICE_NAME", "")
	t.Setenv("TRACE_RATIO", "1") // a number, substituted: every new trace sampled
	t.Setenv("OTEL_SERVICE_NAME", "not-this-one")
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	ctx := context.Background()

	conf, err := otelconfig.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	warned := new(warnings)
	p, err := ctxtrail.Install(ctx, conf.Option(), ctxtrail.WithoutGlobal(), ctxtrail.WithErrorHandler(warned.handle))
	if err != nil {
		t.Fatal(err)
	}
	shutdown := sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Shutdown(ctx)
	})
	t.Cleanup(func() { _ = shutdown() })

	rec, err := conf.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Shutdown(context.Background()) })
	if labels, _, flight := rec.Armed(); !labels || !flight {
		t.Errorf("evidence armed labels=%v flight=%v, want both", labels, flight)
	}
	var route atomic.Value // the route label the handler saw
	mux := http.NewServeMux()
	mux.Handle("GET "+conf.MonitorPath(), conf.Monitor())
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		label, _ := pprof.Label(r.Context(), evidence.LabelRoute)
		route.Store(label)
		rec := log.Record{}
		rec.SetBody(attribute.StringValue("order read"))
		p.LoggerProvider().Logger("orders").Emit(r.Context(), rec)
		c, _ := p.Meter("orders").Int64Counter("orders.read")
		c.Add(r.Context(), 1)
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(httpctx.NewHandler(rec.Middleware(mux), append(conf.HTTPHandlerOptions(), httpctx.WithProvider(p))...))
	defer srv.Close()

	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/7", nil)
	req.Header.Set("traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	req.Header.Set("baggage", "tenant.id=acme,secret=s3cr3t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	page, err := http.Get(srv.URL + conf.MonitorPath() + "?format=json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "GET /orders/{id}") {
		t.Errorf("monitor page: %d %s, want the span GET /orders/{id}", page.StatusCode, body)
	}
	for _, w := range []string{`"max_routes":200`, `"jaeger_ui":"http://127.0.0.1:16686"`} {
		if !strings.Contains(string(body), w) {
			t.Errorf("monitor page does not say %s: %s", w, body)
		}
	}
	if got, _ := route.Load().(string); got != "/orders/{id}" {
		t.Errorf("the request's route label %q, want /orders/{id}", got)
	}

	// A flush while the capture runs: at Shutdown it stops, with its metrics, before the meter
	// provider's last collection.
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if err := shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	spans, metrics, logs, service := col.snapshot()
	for _, path := range []string{"/v1/traces", "/v1/metrics", "/v1/logs"} {
		if service[path] != "orders" {
			t.Errorf("%s: service.name %q, want orders (the file's, not OTEL_SERVICE_NAME)", path, service[path])
		}
	}
	var server bool
	for _, s := range spans {
		if s.Name != "GET /orders/{id}" {
			continue
		}
		server = true
		if hex.EncodeToString(s.TraceId) == callerTrace {
			t.Error("the server span continued the caller's trace: no trust boundary")
		}
		if len(s.Links) != 1 || hex.EncodeToString(s.Links[0].TraceId) != callerTrace {
			t.Errorf("server span links %v, want the caller's span", s.Links)
		}
		if attr(s.Attributes, "tenant.id") != "acme" {
			t.Errorf("server span attributes %v: want tenant.id=acme copied from baggage", s.Attributes)
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.GetStringValue(), "s3cr3t") {
				t.Errorf("baggage outside the allowlist reached the span: %v", kv)
			}
		}
	}
	if !server {
		t.Errorf("no server span among %d exported", len(spans))
	}
	if !slices.Contains(metrics, "orders.read") || !slices.Contains(metrics, "ctxtrail.keep.traces") {
		t.Errorf("metrics %v, want orders.read and the capture's ctxtrail.keep.traces", metrics)
	}
	if !slices.Contains(logs, "order read") {
		t.Errorf("logs %v, want \"order read\"", logs)
	}
	var ignored []error
	for _, err := range warned.all() {
		if errors.Is(err, ctxtrail.ErrEnvIgnored) {
			ignored = append(ignored, err)
		}
	}
	if len(ignored) != 1 || !strings.Contains(ignored[0].Error(), "OTEL_TRACES_EXPORTER is ignored") ||
		!strings.Contains(ignored[0].Error(), "OTEL_SERVICE_NAME is still merged under the file's resource") {
		t.Errorf("warnings %v, want one naming OTEL_TRACES_EXPORTER ignored and OTEL_SERVICE_NAME merged", ignored)
	}
}
