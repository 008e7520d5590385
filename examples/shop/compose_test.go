package shop

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"go.yaml.in/yaml/v3"
)

// No Docker engine runs where the tests run, so this test checks docker-compose.yml against the
// code by construction: what it builds exists, the ports line up, every service exports to Jaeger,
// and every downstream URL names a service on the port that service listens on.
func TestComposeFile(t *testing.T) {
	root := filepath.Join("..", "..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image string
			Build struct {
				Context    string
				Dockerfile string
			}
			Environment map[string]string
			Ports       []string
			DependsOn   dependsOn `yaml:"depends_on"`
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}

	jaeger, ok := compose.Services["jaeger"]
	if !ok || !strings.HasPrefix(jaeger.Image, "jaegertracing/jaeger:2.") {
		t.Fatalf("jaeger service with a Jaeger v2 image missing: %+v", jaeger)
	}
	for _, p := range []string{"16686:16686", "4317:4317", "4318:4318"} {
		if !slices.Contains(jaeger.Ports, p) {
			t.Errorf("jaeger does not publish %s", p)
		}
	}

	listenPort := map[string]string{}
	for _, name := range Services {
		svc, ok := compose.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		env := svc.Environment
		if env[EnvService] != name {
			t.Errorf("%s: %s=%q", name, EnvService, env[EnvService])
		}
		if env["OTEL_SERVICE_NAME"] != name {
			t.Errorf("%s: OTEL_SERVICE_NAME=%q", name, env["OTEL_SERVICE_NAME"])
		}
		if env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://jaeger:4318" {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT=%q, want http://jaeger:4318", name, env["OTEL_EXPORTER_OTLP_ENDPOINT"])
		}
		if !slices.Contains(svc.DependsOn, "jaeger") {
			t.Errorf("%s does not depend on jaeger", name)
		}
		port := strings.TrimPrefix(env[EnvAddr], ":")
		listenPort[name] = port
		if !slices.Contains(svc.Ports, port+":"+port) {
			t.Errorf("%s listens on %q but publishes %v", name, env[EnvAddr], svc.Ports)
		}

		// The build context is the repository root and the Dockerfile builds a package that exists.
		ctxDir := filepath.Join(root, svc.Build.Context)
		if _, err := os.Stat(filepath.Join(ctxDir, "go.mod")); err != nil {
			t.Errorf("%s: build context %q is not the module root", name, svc.Build.Context)
		}
		df, err := os.ReadFile(filepath.Join(ctxDir, svc.Build.Dockerfile))
		if err != nil {
			t.Errorf("%s: dockerfile: %v", name, err)
			continue
		}
		// RUN [cd DIR &&] ... go build ... ./PKG: PKG is relative to DIR (the module it builds in).
		m := regexp.MustCompile(`RUN (?:cd (\S+) && )?[^\n]*go build [^\n]* (\./\S+)`).FindSubmatch(df)
		if m == nil {
			t.Errorf("%s: Dockerfile has no go build line", name)
			continue
		}
		if _, err := os.Stat(filepath.Join(ctxDir, string(m[1]), "go.mod")); err != nil {
			t.Errorf("%s: Dockerfile builds in %q, which is not a module", name, m[1])
		}
		if _, err := os.Stat(filepath.Join(ctxDir, string(m[1]), string(m[2]), "main.go")); err != nil {
			t.Errorf("%s: Dockerfile builds %s in %q, which has no main.go", name, m[2], m[1])
		}

		// Jaeger keeps traces (and metrics) only: the environment must not send log records there,
		// where every export would fail and count as lost.
		if names := logExportersFor(t, env); len(names) != 0 {
			t.Errorf("%s: the environment sends OpenTelemetry logs to Jaeger (%v), which refuses them", name, names)
		}

		cfg := Config{Service: name, Addr: env[EnvAddr], OrdersURL: env[EnvOrdersURL], PaymentsURL: env[EnvPaymentsURL], DB: env[EnvDB]}
		if err := cfg.Check(); err != nil {
			t.Errorf("%s: the shop would refuse this environment: %v", name, err)
		}
	}

	// Every downstream URL points at a service of the file, on the port it listens on.
	for _, name := range Services {
		svc := compose.Services[name]
		for _, env := range Needs(name) {
			u, err := url.Parse(svc.Environment[env])
			if err != nil {
				t.Errorf("%s: %s: %v", name, env, err)
				continue
			}
			target := u.Hostname()
			if _, ok := compose.Services[target]; !ok {
				t.Errorf("%s: %s names unknown service %q", name, env, target)
			}
			if u.Port() != listenPort[target] {
				t.Errorf("%s: %s uses port %s, %s listens on %s", name, env, u.Port(), target, listenPort[target])
			}
			if !slices.Contains(svc.DependsOn, target) {
				t.Errorf("%s calls %s but does not depend on it", name, target)
			}
		}
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Service: "billing", Addr: ":1"}, "want one of frontend, orders, payments"},
		{Config{Service: Payments}, "SHOP_ADDR is empty"},
		{Config{Service: Frontend, Addr: ":8080", OrdersURL: "orders:8081"}, "needs an http URL"},
		{Config{Service: Orders, Addr: ":8081", PaymentsURL: "grpc://payments:8082"}, ""},
		{Config{Service: Orders, Addr: ":8081", PaymentsURL: "http://payments:8082"}, "needs a gRPC URL"},
	}
	for _, tt := range tests {
		err := tt.cfg.Check()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// logExportersFor returns the log exporters Install picks from a compose service's OTEL_*
// environment (spans and metrics off: only the logs decision is asked).
func logExportersFor(t *testing.T, env map[string]string) []string {
	t.Helper()
	for _, k := range []string{"OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"} {
		t.Setenv(k, env[k])
	}
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(), ctxtrail.WithoutMetrics())
	if err != nil {
		t.Fatalf("Install with the compose environment: %v", err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	return p.LogExporters()
}
