package otelconfig_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelconfig"
)

// The configuration repository's own example files (testdata/spec, copied with their
// attribution) load, Install applies each, and what ctxtrail does not apply is exactly this,
// each a warning with its line: the specification tolerates it.
func TestSpecExamples(t *testing.T) {
	for file, want := range map[string][]string{
		"otel-getting-started.yaml":      {"resource.detection/development"},
		"otel-sdk-config.yaml":           {"log_level"},
		"otel-sdk-migration-config.yaml": {"log_level", "instrumentation/development.general"},
	} {
		t.Run(file, func(t *testing.T) {
			blankOTELEnv(t)
			conf, err := otelconfig.Load(filepath.Join("testdata", "spec", file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range conf.NotApplied() {
				got = append(got, k.Path)
				if !k.Warning || k.Line == 0 || k.Why == "" {
					t.Errorf("%v: want a warning with its line and why", k)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("not applied %q, want %q", got, want)
			}
			p := install(t, conf.Option())
			if got := p.Exporters(); !slices.Equal(got, []string{"otlp"}) {
				t.Errorf("span exporters %v, want the file's OTLP exporter (otlp)", got)
			}
			if got := p.LogExporters(); !slices.Equal(got, []string{"otlp"}) {
				t.Errorf("log exporters %v, want the file's OTLP exporter (otlp)", got)
			}
			if got := p.MetricExporters(); !slices.Equal(got, []string{"otlp"}) {
				t.Errorf("metric exporters %v, want the file's periodic OTLP reader (otlp)", got)
			}
			if !p.LogsEnabled() {
				t.Error("logs not enabled: the file has a logger_provider")
			}
		})
	}
}
