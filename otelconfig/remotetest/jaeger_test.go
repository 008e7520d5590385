package remotetest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"github.com/ctxtrail/ctxtrail/otelconfig"
)

// The file's jaeger_remote/development sampler runs through jaegerremote.Enable, the module
// that compiles the sampler in: the two options compose, and without jaegerremote's Install
// fails naming it. The sampler polls the file's endpoint for the file's service.
func TestJaegerRemoteSampler(t *testing.T) {
	for _, kv := range os.Environ() { // the machine's OTEL_* variables stay out of the file's check
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
	var polls atomic.Int64
	var service atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service.Store(r.URL.Query().Get("service"))
		polls.Add(1)
		fmt.Fprint(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}`)
	}))
	defer srv.Close()
	t.Setenv("JAEGER", srv.URL)
	conf, err := otelconfig.Parse("remote.yaml", []byte(strings.Join([]string{`file_format: "1.1"`,
		`resource: {attributes: [{name: service.name, value: checkout}]}`,
		`tracer_provider:`,
		`  processors: []`,
		`  sampler:`,
		`    parent_based:`,
		`      root:`,
		`        jaeger_remote/development:`,
		`          endpoint: ${JAEGER}/sampling`,
		`          interval: 50`,
		`          initial_sampler: {trace_id_ratio_based: {ratio: 0.5}}`}, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(conf.NotApplied()) != 0 {
		t.Errorf("not applied: %v", conf.NotApplied())
	}
	_, err = ctxtrail.Install(t.Context(), ctxtrail.WithoutGlobal(), conf.Option())
	if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "jaegerremote.Enable()") {
		t.Fatalf("Install without jaegerremote = %v, want ErrConfig naming jaegerremote.Enable()", err)
	}
	p, err := ctxtrail.Install(t.Context(), ctxtrail.WithoutGlobal(), conf.Option(), jaegerremote.Enable())
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	deadline := time.Now().Add(5 * time.Second)
	for polls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if polls.Load() == 0 {
		t.Fatal("the sampler never polled the file's endpoint")
	}
	if got := service.Load(); got != "checkout" {
		t.Errorf("polled for service %q, want the file's checkout", got)
	}
	_, err = otelconfig.Parse("x.yaml", []byte("file_format: \"1.1\"\ntracer_provider:\n  processors: []\n  sampler: {parent_based: {remote_parent_sampled: {jaeger_remote/development: {endpoint: \"http://127.0.0.1:5778\"}}}}\n"))
	if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "parent_based's root only") {
		t.Errorf("a nested jaeger_remote = %v, want ErrConfig saying where it may go", err)
	}
}
