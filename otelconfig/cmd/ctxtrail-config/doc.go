// Command ctxtrail-config checks OpenTelemetry configuration files as ctxtrail's Install reads
// them: it prints the effective configuration and every key not applied, with its line.
//
//	go run github.com/ctxtrail/ctxtrail/otelconfig/cmd/ctxtrail-config check service.yaml
//
// It exits with status 1 when a file would make Install fail, 2 on a usage error.
package main
