package shop

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"go.yaml.in/yaml/v3"
)

// dependsOn reads compose's depends_on in either form: a list of names, or a map from name to
// {condition: …}; it keeps the names, and the conditions in conditions.
type dependsOn []string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	var list []string
	if err := n.Decode(&list); err == nil {
		*d = list
		return nil
	}
	var m map[string]struct{ Condition string }
	if err := n.Decode(&m); err != nil {
		return fmt.Errorf("depends_on: want a list of services or a map of service to condition: %w", err)
	}
	for name := range m {
		*d = append(*d, name)
	}
	slices.Sort(*d)
	return nil
}

// composeService is what the scale profile's test reads of a compose service.
type composeService struct {
	Profiles   []string
	Image      string
	User       string
	Entrypoint []string
	Command    []string
	Build      struct {
		Context    string
		Dockerfile string
	}
	Environment map[string]string
	Volumes     []string
	Ports       []string
	DependsOn   yaml.Node `yaml:"depends_on"`
}

// The scale services of docker-compose.yml and what they run.
const (
	scaleProfile = "scale"
	gatewaySvc   = "jaeger-gateway"
	storageSvc   = "jaeger-storage"
	storageInit  = "jaeger-storage-init"
	scalePrefix  = "scale-" // scale-frontend, scale-orders, scale-payments
)

// yamlEnv returns the ${env:NAME:-default} references of a Jaeger config: name to default
// ("" and false when there is none).
func yamlEnv(t *testing.T, path string) map[string]*string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*string{}
	for _, m := range regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`).FindAllStringSubmatch(string(raw), -1) {
		if m[2] == "" {
			out[m[1]] = nil
			continue
		}
		def := m[3]
		out[m[1]] = &def
	}
	return out
}

// TestComposeScaleProfile checks docker-compose.yml's scale profile against the code and the
// Jaeger configs it mounts, as TestComposeFile checks the rest (no Docker engine runs here;
// examples/shop/scale_test.go runs the same topology as processes):
//   - the laptop services have no profile, the scale ones the scale profile;
//   - each tier runs Jaeger v2 with --config at the path its deploy/jaeger file is mounted at;
//   - every variable a tier is given is one its file reads, and every variable its file reads
//     without a default is given;
//   - the gateway exports to the storage service on the port storage.yaml receives OTLP/gRPC at;
//   - Badger's directory is on a named volume, made and handed to Jaeger's user by the init
//     service, which storage waits for;
//   - the scale shop services are the shop's services, exporting to the gateway's OTLP/HTTP port,
//     calling each other on the ports they listen on, in an environment Install accepts, with
//     logs and metrics off (the gateway has a traces pipeline only);
//   - no two services publish the same host port (both stacks run at once).
func TestComposeScaleProfile(t *testing.T) {
	root := filepath.Join("..", "..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]composeService
		Volumes  map[string]any
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svcs := compose.Services

	scale := []string{gatewaySvc, storageSvc, storageInit}
	for _, s := range Services {
		scale = append(scale, scalePrefix+s)
	}
	for name, svc := range svcs {
		want := slices.Contains(scale, name)
		if got := slices.Contains(svc.Profiles, scaleProfile); got != want {
			t.Errorf("%s: profiles %v; want the scale profile: %v", name, svc.Profiles, want)
		}
		if !want && len(svc.Profiles) > 0 {
			t.Errorf("%s: profiles %v: plain `docker compose up` would leave it out", name, svc.Profiles)
		}
	}
	for _, name := range scale {
		if _, ok := svcs[name]; !ok {
			t.Fatalf("service %s missing from the scale profile", name)
		}
	}

	// mounted returns the repository file svc mounts at target.
	mounted := func(svc, target string) string {
		t.Helper()
		for _, v := range svcs[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == target && strings.HasPrefix(parts[0], ".") {
				return filepath.Join(root, parts[0])
			}
		}
		t.Fatalf("%s mounts no repository file at %s (volumes %v)", svc, target, svcs[svc].Volumes)
		return ""
	}
	// tier checks a Jaeger tier: image, --config of the deploy/jaeger file, its variables.
	tier := func(name, file string) map[string]*string {
		t.Helper()
		svc := svcs[name]
		if svc.Image != svcs["jaeger"].Image || !strings.HasPrefix(svc.Image, "jaegertracing/jaeger:2.") {
			t.Errorf("%s: image %q, want the laptop stack's Jaeger v2 image %q", name, svc.Image, svcs["jaeger"].Image)
		}
		i := slices.Index(svc.Command, "--config")
		if i < 0 || i+1 >= len(svc.Command) {
			t.Fatalf("%s: command %v has no --config", name, svc.Command)
		}
		path := mounted(name, svc.Command[i+1])
		if want := filepath.Join(root, "deploy", "jaeger", file); path != want {
			t.Errorf("%s runs %s, want %s", name, path, want)
		}
		vars := yamlEnv(t, path)
		for k := range svc.Environment {
			if _, ok := vars[k]; !ok {
				t.Errorf("%s sets %s, which %s does not read", name, k, file)
			}
		}
		for k, def := range vars {
			if _, set := svc.Environment[k]; def == nil && !set {
				t.Errorf("%s reads ${env:%s} without a default, and %s does not set it", file, k, name)
			}
		}
		return vars
	}
	value := func(svc string, vars map[string]*string, name string) string {
		if v, ok := svcs[svc].Environment[name]; ok {
			return v
		}
		if d := vars[name]; d != nil {
			return *d
		}
		t.Fatalf("%s: %s is neither set nor defaulted", svc, name)
		return ""
	}
	port := func(hostport string) string {
		_, p, err := net.SplitHostPort(hostport)
		if err != nil {
			t.Fatalf("%q: %v", hostport, err)
		}
		return p
	}

	gwVars := tier(gatewaySvc, "gateway.yaml")
	stVars := tier(storageSvc, "storage.yaml")

	// The gateway exports to the storage service, where storage receives OTLP/gRPC.
	exp := value(gatewaySvc, gwVars, "GATEWAY_STORAGE_OTLP_ENDPOINT")
	host, p, err := net.SplitHostPort(exp)
	if err != nil || host != storageSvc || p != port(value(storageSvc, stVars, "STORAGE_OTLP_GRPC_ENDPOINT")) {
		t.Errorf("gateway exports to %q, want %s:<storage.yaml's OTLP gRPC port>", exp, storageSvc)
	}
	if !slices.Contains(names(t, svcs[gatewaySvc].DependsOn), storageSvc) {
		t.Errorf("%s does not depend on %s", gatewaySvc, storageSvc)
	}
	// Storage publishes its query API's port.
	query := port(value(storageSvc, stVars, "STORAGE_QUERY_HTTP_ENDPOINT"))
	if !slices.ContainsFunc(svcs[storageSvc].Ports, func(p string) bool { return strings.HasSuffix(p, ":"+query) }) {
		t.Errorf("%s does not publish its query port %s: %v", storageSvc, query, svcs[storageSvc].Ports)
	}

	// Badger on a named volume, its directory made for Jaeger's user before storage starts.
	badger := value(storageSvc, stVars, "BADGER_DIR")
	volume, target := "", ""
	for _, v := range svcs[storageSvc].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && !strings.HasPrefix(parts[0], ".") && !strings.HasPrefix(parts[0], "/") &&
			(badger == parts[1] || strings.HasPrefix(badger, parts[1]+"/")) {
			volume, target = parts[0], parts[1]
		}
	}
	if volume == "" {
		t.Fatalf("%s: BADGER_DIR=%s is on no named volume (volumes %v): traces would not outlive the container",
			storageSvc, badger, svcs[storageSvc].Volumes)
	}
	if _, ok := compose.Volumes[volume]; !ok {
		t.Errorf("volume %s is not declared under volumes:", volume)
	}
	if ttl := svcs[storageSvc].Environment["BADGER_TTL"]; ttl != "" {
		if _, err := time.ParseDuration(ttl); err != nil {
			t.Errorf("BADGER_TTL=%q: %v", ttl, err)
		}
	}
	initSvc := svcs[storageInit]
	script := strings.Join(initSvc.Entrypoint, " ")
	if initSvc.User != "root" || !slices.Contains(initSvc.Volumes, volume+":"+target) ||
		!strings.Contains(script, "mkdir -p "+badger) || !strings.Contains(script, "chown -R 10001:10001 "+badger) {
		t.Errorf("%s must run as root, mount %s at %s and mkdir and chown %s to Jaeger's uid 10001: user %q, volumes %v, entrypoint %q",
			storageInit, volume, target, badger, initSvc.User, initSvc.Volumes, script)
	}
	var cond map[string]struct{ Condition string }
	storageDeps := svcs[storageSvc].DependsOn
	if err := storageDeps.Decode(&cond); err != nil || cond[storageInit].Condition != "service_completed_successfully" {
		t.Errorf("%s must wait for %s with condition service_completed_successfully (%v)", storageSvc, storageInit, err)
	}

	// The scale shop: the shop's services, pointed at the gateway and at each other.
	gwHTTP := port(value(gatewaySvc, gwVars, "GATEWAY_OTLP_HTTP_ENDPOINT"))
	gwYAML, err := os.ReadFile(mounted(gatewaySvc, svcs[gatewaySvc].Command[slices.Index(svcs[gatewaySvc].Command, "--config")+1]))
	if err != nil {
		t.Fatal(err)
	}
	var gw struct {
		Service struct{ Pipelines map[string]any }
	}
	if err := yaml.Unmarshal(gwYAML, &gw); err != nil {
		t.Fatal(err)
	}
	listen := map[string]string{}
	for _, s := range Services {
		name := scalePrefix + s
		svc := svcs[name]
		env := svc.Environment
		if env[EnvService] != s || env["OTEL_SERVICE_NAME"] != s {
			t.Errorf("%s: %s=%q OTEL_SERVICE_NAME=%q, want %s", name, EnvService, env[EnvService], env["OTEL_SERVICE_NAME"], s)
		}
		if want := "http://" + gatewaySvc + ":" + gwHTTP; env["OTEL_EXPORTER_OTLP_ENDPOINT"] != want {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT=%q, want the gateway's OTLP/HTTP %s", name, env["OTEL_EXPORTER_OTLP_ENDPOINT"], want)
		}
		for signal, v := range map[string]string{"logs": env["OTEL_LOGS_EXPORTER"], "metrics": env["OTEL_METRICS_EXPORTER"]} {
			if _, ok := gw.Service.Pipelines[signal]; !ok && v != "none" {
				t.Errorf("%s: OTEL_%s_EXPORTER=%q, but the gateway has no %s pipeline: want none", name, strings.ToUpper(signal), v, signal)
			}
		}
		if !slices.Contains(names(t, svc.DependsOn), gatewaySvc) {
			t.Errorf("%s does not depend on %s", name, gatewaySvc)
		}
		if svc.Build != svcs[s].Build {
			t.Errorf("%s builds %+v, the laptop %s %+v", name, svc.Build, s, svcs[s].Build)
		}
		listen[name] = strings.TrimPrefix(env[EnvAddr], ":")
		for _, p := range svc.Ports {
			if !strings.HasSuffix(p, ":"+listen[name]) {
				t.Errorf("%s listens on %q but publishes %s", name, env[EnvAddr], p)
			}
		}
		cfg := Config{Service: s, Addr: env[EnvAddr], OrdersURL: env[EnvOrdersURL], PaymentsURL: env[EnvPaymentsURL], DB: env[EnvDB]}
		if err := cfg.Check(); err != nil {
			t.Errorf("%s: the shop would refuse this environment: %v", name, err)
		}
		installAccepts(t, name, env)
	}
	for _, s := range Services {
		name := scalePrefix + s
		for _, v := range Needs(s) {
			u, err := url.Parse(svcs[name].Environment[v])
			if err != nil {
				t.Errorf("%s: %s: %v", name, v, err)
				continue
			}
			if target := u.Hostname(); !strings.HasPrefix(target, scalePrefix) || u.Port() != listen[target] ||
				!slices.Contains(names(t, svcs[name].DependsOn), target) {
				t.Errorf("%s: %s=%s: want a scale service it depends on, on the port it listens on", name, v, u)
			}
		}
	}
	if len(svcs["scale-frontend"].Ports) == 0 {
		t.Error("scale-frontend publishes no port: the scale shop cannot be reached")
	}

	// Both stacks run at once: no host port twice.
	hostPorts := map[string]string{}
	for name, svc := range svcs {
		for _, p := range svc.Ports {
			h, _, _ := strings.Cut(p, ":")
			if other, ok := hostPorts[h]; ok {
				t.Errorf("host port %s published by %s and %s", h, other, name)
			}
			hostPorts[h] = name
		}
	}
}

// names returns the services a depends_on node names, in either form.
func names(t *testing.T, n yaml.Node) []string {
	t.Helper()
	if n.Kind == 0 {
		return nil
	}
	var d dependsOn
	if err := n.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// installAccepts runs ctxtrail.Install in the service's OTEL_* environment (and nothing else of
// the machine's) and fails the test if it refuses it: a typo in a variable's value fails here,
// not in a container.
func installAccepts(t *testing.T, name string, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
	for k, v := range env {
		if strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, v)
		}
	}
	// jaegerremote.Enable(), as NewTelemetry passes it: the services may be run under
	// OTEL_TRACES_SAMPLER=parentbased_jaeger_remote (OPERATIONS.md).
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), jaegerremote.Enable())
	if err != nil {
		t.Errorf("%s: Install refuses its environment: %v", name, err)
		return
	}
	if got := p.Exporters(); !slices.Equal(got, []string{ctxtrail.ExporterOTLP}) {
		t.Errorf("%s: exporters %v, want otlp", name, got)
	}
	_ = p.Shutdown(context.Background()) // nothing was sent: nothing to flush to a host that is not here
}
