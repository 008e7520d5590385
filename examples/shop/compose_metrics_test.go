package shop

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeMetrics checks the metrics wiring of docker-compose.yml against its config files:
// Jaeger runs the span-metrics configuration (spanmetrics connector, Prometheus exporter, a
// metrics backend pointing at the prometheus service, which turns on the Monitor tab),
// Prometheus scrapes Jaeger's exporter, and every shop service pushes its metrics over OTLP.
// jaeger_metrics_test.go runs the same Jaeger configuration for real.
func TestComposeMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Volumes     []string
			Ports       []string
			Environment map[string]string
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	// mounted returns the repo file mounted at target in service svc.
	mounted := func(svc, target string) string {
		for _, v := range compose.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == target {
				return filepath.Join(root, parts[0])
			}
		}
		t.Fatalf("%s mounts nothing at %s (volumes %v)", svc, target, compose.Services[svc].Volumes)
		return ""
	}

	jaeger := compose.Services["jaeger"]
	i := slices.Index(jaeger.Command, "--config")
	if i < 0 || i+1 >= len(jaeger.Command) {
		t.Fatalf("jaeger command %v has no --config", jaeger.Command)
	}
	var jcfg struct {
		Service struct {
			Pipelines map[string]struct{ Receivers, Processors, Exporters []string }
		}
		Extensions struct {
			JaegerQuery struct {
				Storage struct{ Traces, Metrics string }
			} `yaml:"jaeger_query"`
			JaegerStorage struct {
				MetricBackends map[string]struct {
					Prometheus struct{ Endpoint string }
				} `yaml:"metric_backends"`
			} `yaml:"jaeger_storage"`
		}
		Connectors map[string]any
		Exporters  map[string]struct{ Endpoint string }
	}
	jraw, err := os.ReadFile(mounted("jaeger", jaeger.Command[i+1]))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(jraw, &jcfg); err != nil {
		t.Fatalf("jaeger config: %v", err)
	}
	if _, ok := jcfg.Connectors["spanmetrics"]; !ok {
		t.Error("jaeger config: no spanmetrics connector")
	}
	if tr := jcfg.Service.Pipelines["traces"]; !slices.Contains(tr.Exporters, "spanmetrics") {
		t.Errorf("jaeger traces pipeline does not feed spanmetrics: %v", tr.Exporters)
	}
	if sm := jcfg.Service.Pipelines["metrics/spanmetrics"]; !slices.Contains(sm.Receivers, "spanmetrics") || !slices.Contains(sm.Exporters, "prometheus") {
		t.Errorf("jaeger metrics/spanmetrics pipeline: %+v", sm)
	}
	if m := jcfg.Service.Pipelines["metrics"]; !slices.Contains(m.Receivers, "otlp") || !slices.Contains(m.Exporters, "prometheus") {
		t.Errorf("jaeger takes no OTLP metrics to Prometheus: %+v", m)
	}
	promExporter := jcfg.Exporters["prometheus"].Endpoint
	_, exporterPort, _ := strings.Cut(promExporter, ":")
	backend, ok := jcfg.Extensions.JaegerStorage.MetricBackends[jcfg.Extensions.JaegerQuery.Storage.Metrics]
	if !ok || jcfg.Extensions.JaegerQuery.Storage.Metrics == "" {
		t.Fatal("jaeger_query has no metrics storage: the Monitor tab stays off")
	}
	if backend.Prometheus.Endpoint != "http://prometheus:9090" {
		t.Errorf("metrics backend %q, want the prometheus service", backend.Prometheus.Endpoint)
	}

	prom, ok := compose.Services["prometheus"]
	if !ok || !strings.HasPrefix(prom.Image, "prom/prometheus:") || !slices.Contains(prom.Ports, "9090:9090") {
		t.Fatalf("prometheus service: %+v", prom)
	}
	var pcfg struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	praw, err := os.ReadFile(mounted("prometheus", "/etc/prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(praw, &pcfg); err != nil {
		t.Fatal(err)
	}
	scraped := false
	for _, sc := range pcfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			scraped = scraped || slices.Contains(st.Targets, "jaeger:"+exporterPort)
		}
	}
	if !scraped || exporterPort == "" {
		t.Errorf("prometheus does not scrape jaeger's exporter (%s): %+v", promExporter, pcfg)
	}

	for _, name := range Services {
		env := compose.Services[name].Environment
		if env["OTEL_METRICS_EXPORTER"] != "otlp" {
			t.Errorf("%s: OTEL_METRICS_EXPORTER=%q, want otlp", name, env["OTEL_METRICS_EXPORTER"])
		}
	}
}
