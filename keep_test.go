package ctxtrail_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// run installs with opts (no head sampling, an in-memory exporter), starts one fast successful
// trace and one whose child fails, and returns the names exported.
func runKeep(t *testing.T, opts ...ctxtrail.Option) ([]string, *sdkmetric.ManualReader) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	reader := sdkmetric.NewManualReader()
	p, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{
		ctxtrail.WithoutGlobal(), ctxtrail.WithExporter(exp), ctxtrail.WithMetricReader(reader),
		ctxtrail.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	tr := p.Tracer("t")
	_, fast := tr.Start(context.Background(), "fast")
	fast.End()
	ctx, root := tr.Start(context.Background(), "failed")
	_, child := tr.Start(ctx, "query")
	child.SetStatus(codes.Error, "timeout")
	child.End()
	root.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
	}
	return names, reader
}

func TestInstallKeepErrorsAndSlow(t *testing.T) {
	names, reader := runKeep(t, ctxtrail.WithKeepErrorsAndSlow())
	if len(names) != 2 || names[0] != "query" || names[1] != "failed" {
		t.Fatalf("exported %v, want the failed trace whole (query, failed) and not the fast one", names)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found = found || m.Name == "ctxtrail.keep.traces"
		}
	}
	if !found {
		t.Error("ctxtrail.keep.traces is not on Install's meter provider")
	}
}

func TestInstallKeepOffByDefault(t *testing.T) {
	if names, _ := runKeep(t); len(names) != 0 {
		t.Fatalf("exported %v with nothing sampled and the capture off", names)
	}
}

func TestInstallKeepFromEnv(t *testing.T) {
	t.Setenv(ctxtrail.EnvKeep, "errors-and-slow")
	if names, _ := runKeep(t); len(names) != 2 {
		t.Fatalf("exported %v, want the failed trace", names)
	}
	if names, _ := runKeep(t, ctxtrail.WithoutKeepErrorsAndSlow()); len(names) != 0 {
		t.Fatalf("WithoutKeepErrorsAndSlow should win over %s: exported %v", ctxtrail.EnvKeep, names)
	}
}

// CTXTRAIL_KEEP_SLOW sets the threshold: a successful trace that outlasts 1ms is kept as slow;
// "0" keeps none for being slow.
func TestInstallKeepSlowFromEnv(t *testing.T) {
	for _, tt := range []struct {
		value string
		kept  bool
	}{{"1ms", true}, {"0", false}} {
		t.Run(tt.value, func(t *testing.T) {
			t.Setenv(ctxtrail.EnvKeep, "errors-and-slow")
			t.Setenv(ctxtrail.EnvKeepSlow, tt.value)
			exp := tracetest.NewInMemoryExporter()
			p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithExporter(exp),
				ctxtrail.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			_, root := p.Tracer("t").Start(context.Background(), "slow")
			time.Sleep(5 * time.Millisecond)
			root.End()
			if err := p.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if kept := len(exp.GetSpans()) == 1; kept != tt.kept {
				t.Errorf("%s=%s: a 5ms trace kept %v, want %v", ctxtrail.EnvKeepSlow, tt.value, kept, tt.kept)
			}
		})
	}
}

func TestInstallKeepOptionsWinOverEnv(t *testing.T) {
	t.Setenv(ctxtrail.EnvKeepSlow, "oops")
	_, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithKeepErrorsAndSlow(keep.WithSlowThreshold(0)))
	if !errors.Is(err, ctxtrail.ErrConfig) {
		t.Fatalf("a bad %s is an error even when an option sets the threshold too: got %v", ctxtrail.EnvKeepSlow, err)
	}
}

func TestInstallKeepBadEnv(t *testing.T) {
	for _, tt := range []struct{ name, key, value string }{
		{"keep", ctxtrail.EnvKeep, "sometimes"},
		{"slow", ctxtrail.EnvKeepSlow, "-1s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ctxtrail.EnvKeep, "on")
			t.Setenv(tt.key, tt.value)
			_, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
			if !errors.Is(err, ctxtrail.ErrConfig) {
				t.Fatalf("%s=%q: got %v, want ErrConfig", tt.key, tt.value, err)
			}
		})
	}
}

// lastMetrics is a metric exporter that keeps what it was last given.
type lastMetrics struct {
	mu   sync.Mutex
	last []string // "name=value" of the sums
}

func (e *lastMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (e *lastMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *lastMetrics) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	var got []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				var v int64
				for _, dp := range sum.DataPoints {
					v += dp.Value
				}
				got = append(got, fmt.Sprintf("%s=%d", m.Name, v))
			}
		}
	}
	e.mu.Lock()
	e.last = got
	e.mu.Unlock()
	return nil
}

func (e *lastMetrics) ForceFlush(context.Context) error { return nil }
func (e *lastMetrics) Shutdown(context.Context) error   { return nil }

// The capture's counts reach the last export at Shutdown: its metrics stay registered until the
// meter provider's final collection, after the tracer provider has stopped the capture.
func TestInstallKeepMetricsExportedAtShutdown(t *testing.T) {
	exp := &lastMetrics{}
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(),
		ctxtrail.WithExporter(tracetest.NewInMemoryExporter()),
		ctxtrail.WithMetricReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))),
		ctxtrail.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())), ctxtrail.WithKeepErrorsAndSlow())
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := p.Tracer("t").Start(context.Background(), "failed")
	_, child := p.Tracer("t").Start(ctx, "query")
	child.SetStatus(codes.Error, "timeout")
	child.End()
	root.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	exp.mu.Lock()
	defer exp.mu.Unlock()
	if !slices.Contains(exp.last, "ctxtrail.keep.traces=1") {
		t.Errorf("the last export at Shutdown holds %q, want ctxtrail.keep.traces=1", exp.last)
	}
}
