package jaegerdeploy_test

import (
	"fmt"
	"os"
	"regexp"
	"sort"
)

// The gateway tier is tuned through environment variables, each with the default a container
// gets; this lists them straight from gateway.yaml, so the list cannot drift from the file.
// Run the tier with: jaeger --config deploy/jaeger/gateway.yaml
func Example_gatewaySettings() {
	cfg, err := os.ReadFile("gateway.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	seen := map[string]string{}
	for _, m := range regexp.MustCompile(`\$\{env:(GATEWAY_[A-Z_]+):-([^}]*)\}`).FindAllStringSubmatch(string(cfg), -1) {
		seen[m[1]] = m[2]
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("%s=%s\n", name, seen[name])
	}
	// Output:
	// GATEWAY_DECISION_WAIT=10s
	// GATEWAY_HEALTH_ENDPOINT=0.0.0.0:13133
	// GATEWAY_KEEP_PERCENT=10
	// GATEWAY_MEMORY_LIMIT_MIB=512
	// GATEWAY_MEMORY_SPIKE_MIB=128
	// GATEWAY_METRICS_HOST=0.0.0.0
	// GATEWAY_METRICS_LEVEL=normal
	// GATEWAY_METRICS_PORT=8888
	// GATEWAY_NUM_TRACES=50000
	// GATEWAY_OTLP_GRPC_ENDPOINT=0.0.0.0:4317
	// GATEWAY_OTLP_HTTP_ENDPOINT=0.0.0.0:4318
	// GATEWAY_SLOW_MS=1000
	// GATEWAY_STORAGE_OTLP_ENDPOINT=storage:4317
}
