// Package jaegerdeploy holds ctxtrail's Jaeger v2 configurations for running past one machine,
// and the tests that the real Jaeger binary accepts and runs them. It has no Go API: the
// configurations are the product.
//
// # The tiers
//
//   - gateway.yaml: OTLP in, memory_limiter, tail_sampling (every trace with an error, every
//     trace slower than GATEWAY_SLOW_MS, GATEWAY_KEEP_PERCENT of the rest), OTLP out to the
//     storage tier at GATEWAY_STORAGE_OTLP_ENDPOINT.
//   - storage.yaml: OTLP in, Badger on disk under BADGER_DIR, the query API and UI.
//
// examples/shop's TestScaleTwoTiers runs both (through internal/jaegertest.StartTiers) under
// the shop's load and checks what the storage tier holds, before and after a SIGKILL of it;
// docker-compose.yml's scale profile runs the same files in containers.
//
// Every port and limit is an environment variable with the usual default, so the tests run
// both tiers on free loopback ports. OPERATIONS.md says what is
// tested.
//
// # Running the tests
//
// The tests need the Jaeger binary that scripts/jaeger.sh builds (CTXTRAIL_JAEGER_BIN names
// it); they skip without it, and fail under CI=true.
package jaegerdeploy
