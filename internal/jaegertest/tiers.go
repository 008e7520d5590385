package jaegertest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tiers is deploy/jaeger's two-tier topology running as two Jaeger processes on free loopback
// ports: the storage tier (storage.yaml, Badger under BadgerDir) and the gateway tier
// (gateway.yaml) exporting to it.
type Tiers struct {
	Query          string // the storage tier's query API and UI, http://127.0.0.1:port
	OTLP           string // the gateway's OTLP/HTTP receiver, http://127.0.0.1:port
	OTLPGRPC       string // the gateway's OTLP/gRPC receiver, 127.0.0.1:port
	StorageOTLP    string // the storage tier's OTLP/HTTP receiver, for spans that skip the gateway
	GatewayMetrics string // the gateway's own metrics (Prometheus text), http://127.0.0.1:port/metrics
	StorageMetrics string // the storage tier's own metrics
	BadgerDir      string

	Gateway, Storage *Process

	storageConfig string
	storageEnv    []string
}

// StartTiers starts the storage tier then the gateway from the yaml files in configDir
// (deploy/jaeger), Badger in badgerDir (a temp dir: t.TempDir()), each waited for until it
// answers. gatewayEnv (NAME=value) is added to the gateway's environment after the ports, so
// a test sets GATEWAY_KEEP_PERCENT, GATEWAY_DECISION_WAIT and the like. Both tiers serve their
// own metrics at the normal level, for a test to read what passed through.
func StartTiers(t testing.TB, configDir, badgerDir string, gatewayEnv ...string) *Tiers {
	t.Helper()
	ports := Ports(t, 10)
	tt := &Tiers{
		Query:          "http://" + Addr(ports[2]),
		OTLP:           "http://" + Addr(ports[9]),
		OTLPGRPC:       Addr(ports[8]),
		StorageOTLP:    "http://" + Addr(ports[5]),
		StorageMetrics: "http://" + Addr(ports[0]) + "/metrics",
		GatewayMetrics: "http://" + Addr(ports[6]) + "/metrics",
		BadgerDir:      badgerDir,
		storageConfig:  filepath.Join(configDir, "storage.yaml"),
		storageEnv: []string{
			"BADGER_DIR=" + badgerDir,
			"STORAGE_METRICS_HOST=127.0.0.1", fmt.Sprintf("STORAGE_METRICS_PORT=%d", ports[0]),
			"STORAGE_HEALTH_ENDPOINT=" + Addr(ports[1]),
			"STORAGE_QUERY_HTTP_ENDPOINT=" + Addr(ports[2]),
			"STORAGE_QUERY_GRPC_ENDPOINT=" + Addr(ports[3]),
			"STORAGE_OTLP_GRPC_ENDPOINT=" + Addr(ports[4]),
			"STORAGE_OTLP_HTTP_ENDPOINT=" + Addr(ports[5]),
		},
	}
	tt.Storage = StartFile(t, tt.storageConfig, tt.Query+"/api/services", tt.storageEnv...)
	gateway := append([]string{
		"GATEWAY_METRICS_HOST=127.0.0.1", fmt.Sprintf("GATEWAY_METRICS_PORT=%d", ports[6]),
		"GATEWAY_HEALTH_ENDPOINT=" + Addr(ports[7]),
		"GATEWAY_OTLP_GRPC_ENDPOINT=" + Addr(ports[8]),
		"GATEWAY_OTLP_HTTP_ENDPOINT=" + Addr(ports[9]),
		"GATEWAY_STORAGE_OTLP_ENDPOINT=" + Addr(ports[4]),
	}, gatewayEnv...)
	tt.Gateway = StartFile(t, filepath.Join(configDir, "gateway.yaml"), "http://"+Addr(ports[7])+"/status", gateway...)
	return tt
}

// RestartStorage starts the storage tier again, on the same ports and Badger directory, after
// its process ended (Kill, Stop), and waits until its query API answers.
func (tt *Tiers) RestartStorage(t testing.TB) {
	t.Helper()
	tt.Storage.Stop() // a no-op if it ended already
	tt.Storage = StartFile(t, tt.storageConfig, tt.Query+"/api/services", tt.storageEnv...)
}

// metricsClient keeps no connection open between scrapes, so no goroutine outlives a test.
var metricsClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// Metric sums the samples of a metric in Prometheus text format whose name is name (with
// or without the _total suffix) and whose labels contain label.
func Metric(url, name, label string) (float64, error) {
	resp, err := metricsClient.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		base, labels, _ := strings.Cut(metric, "{")
		if base != name && base != name+"_total" || !strings.Contains(labels, label) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		sum, found = sum+v, true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("%s: no %s", url, name)
	}
	return sum, nil
}
