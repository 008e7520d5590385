package ctxtrail

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// lockedBuffer is a writer the console exporter and the waterfall may share across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// orderings returns every ordering of every subset of two or more of names.
func orderings(names []string) [][]string {
	var out [][]string
	var walk func(prefix []string, rest []string)
	walk = func(prefix, rest []string) {
		if len(prefix) >= 2 {
			out = append(out, slices.Clone(prefix))
		}
		for i, n := range rest {
			next := append(slices.Clone(rest[:i]), rest[i+1:]...)
			walk(append(slices.Clone(prefix), n), next)
		}
	}
	walk(nil, names)
	return out
}

// Each exporter keeps its own batch settings whatever the order of OTEL_TRACES_EXPORTER or
// WithExporterName: the console exporter writes ConsoleScheduleDelay after the spans end, the
// others keep the SDK's delay, and the waterfall (a name without an exporter) shifts nobody's
// settings. The pipeline named console must be the one writing JSON to the writer.
func TestInstallExporterOrderKeepsEachExportersSettings(t *testing.T) {
	// The OTLP exporter needs somewhere to send at Shutdown; any answer will do.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer collector.Close()

	type tc struct {
		name     string
		env      map[string]string
		opts     []Option
		names    []string      // the exporter names, in the order given
		custom   bool          // a WithExporter exporter comes first
		delay    time.Duration // the console's expected batch delay
		sdkDelay time.Duration // the others'
	}
	const sdkDefault = sdktrace.DefaultScheduleDelay * time.Millisecond
	var cases []tc
	for _, list := range orderings([]string{ExporterConsole, ExporterOTLP, ExporterWaterfall, ExporterNone}) {
		joined := strings.Join(list, ",")
		cases = append(cases,
			tc{name: "OTEL_TRACES_EXPORTER=" + joined, env: map[string]string{"OTEL_TRACES_EXPORTER": joined},
				names: list, delay: ConsoleScheduleDelay, sdkDelay: sdkDefault},
			tc{name: "WithExporterName(" + joined + ")", opts: []Option{WithExporterName(list...)},
				names: list, delay: ConsoleScheduleDelay, sdkDelay: sdkDefault})
	}
	for _, list := range [][]string{{ExporterWaterfall, ExporterConsole}, {ExporterConsole, ExporterWaterfall}} {
		joined := strings.Join(list, ",")
		cases = append(cases,
			tc{name: "custom+" + joined, opts: []Option{WithExporter(tracetest.NewInMemoryExporter()), WithExporterName(list...)},
				names: list, custom: true, delay: ConsoleScheduleDelay, sdkDelay: sdkDefault},
			tc{name: "OTEL_BSP_SCHEDULE_DELAY wins/" + joined,
				env:   map[string]string{"OTEL_TRACES_EXPORTER": joined, "OTEL_BSP_SCHEDULE_DELAY": "250"},
				names: list, delay: 250 * time.Millisecond, sdkDelay: 250 * time.Millisecond})
	}

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := new(lockedBuffer)
			p := install(t, append([]Option{WithWriter(out)}, tt.opts...)...)

			var want []string
			if tt.custom {
				want = append(want, "custom")
			}
			for _, n := range tt.names {
				if n != ExporterNone {
					want = append(want, n)
				}
			}
			if got := p.Exporters(); !slices.Equal(got, want) {
				t.Fatalf("Exporters() = %q, want %q", got, want)
			}
			wantPipes := slices.DeleteFunc(slices.Clone(want), func(n string) bool { return n == ExporterWaterfall })
			var gotPipes []string
			var console *pipeline
			for _, pl := range p.pipelines {
				gotPipes = append(gotPipes, pl.name)
				wantDelay := tt.sdkDelay
				if pl.name == ExporterConsole {
					wantDelay, console = tt.delay, pl
				}
				if pl.batch.BatchTimeout != wantDelay {
					t.Errorf("exporter %q batches every %v, want %v", pl.name, pl.batch.BatchTimeout, wantDelay)
				}
			}
			if !slices.Equal(gotPipes, wantPipes) {
				t.Fatalf("pipelines for %q, want %q", gotPipes, wantPipes)
			}
			if console == nil {
				return
			}
			// The pipeline that batches as the console must be the console: flushing it alone
			// writes the span as JSON.
			_, span := p.Tracer("order").Start(context.Background(), "exporter-order")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := console.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), `"Name":"exporter-order"`) {
				t.Fatalf("flushing the console's pipeline wrote no JSON span; writer holds %q", out.String())
			}
		})
	}
}
