// Package jaegerdeploy holds ctxtrail's Jaeger v2 configurations for the gateway and storage
// tiers (gateway.yaml, storage.yaml) and the test that the real binary accepts and runs them.
package jaegerdeploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Jaeger's validate command accepts both configs, and refuses a copy with an unknown key (so a
// pass means something).
func TestConfigsValidate(t *testing.T) {
	for _, f := range []string{"gateway.yaml", "storage.yaml"} {
		out, err := jaegertest.Validate(t, f)
		if err != nil {
			t.Errorf("jaeger validate %s: %v\n%s", f, err, out)
		}
	}
	src, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	broken := strings.Replace(string(src), "    decision_wait:", "    decision_wiat: 1s\n    decision_wait:", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := jaegertest.Validate(t, bad); err == nil {
		t.Errorf("jaeger validate accepted an unknown key:\n%s", out)
	}
}

// Both tiers start on free loopback ports, storage with Badger in a temp dir, the gateway
// exporting to it, and each reports ready: storage's query API answers, the gateway's health
// check says it is up.
func TestTiersStart(t *testing.T) {
	ports := jaegertest.Ports(t, 10)
	addr := jaegertest.Addr
	storage := []string{
		"BADGER_DIR=" + t.TempDir(),
		"STORAGE_METRICS_LEVEL=none", "STORAGE_METRICS_HOST=127.0.0.1", fmt.Sprintf("STORAGE_METRICS_PORT=%d", ports[0]),
		"STORAGE_HEALTH_ENDPOINT=" + addr(ports[1]),
		"STORAGE_QUERY_HTTP_ENDPOINT=" + addr(ports[2]),
		"STORAGE_QUERY_GRPC_ENDPOINT=" + addr(ports[3]),
		"STORAGE_OTLP_GRPC_ENDPOINT=" + addr(ports[4]),
		"STORAGE_OTLP_HTTP_ENDPOINT=" + addr(ports[5]),
	}
	jaegertest.StartFile(t, "storage.yaml", "http://"+addr(ports[2])+"/api/services", storage...)
	gateway := []string{
		"GATEWAY_METRICS_LEVEL=none", "GATEWAY_METRICS_HOST=127.0.0.1", fmt.Sprintf("GATEWAY_METRICS_PORT=%d", ports[6]),
		"GATEWAY_HEALTH_ENDPOINT=" + addr(ports[7]),
		"GATEWAY_OTLP_GRPC_ENDPOINT=" + addr(ports[8]),
		"GATEWAY_OTLP_HTTP_ENDPOINT=" + addr(ports[9]),
		"GATEWAY_STORAGE_OTLP_ENDPOINT=" + addr(ports[4]),
	}
	jaegertest.StartFile(t, "gateway.yaml", "http://"+addr(ports[7])+"/status", gateway...)
}
