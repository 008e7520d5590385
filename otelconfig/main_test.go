package otelconfig_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Every exporter, reader, sampler poller and monitor a file makes stops with its Provider.
// The tests' own requests go through http.DefaultClient, whose idle keep-alive connections are
// the client's to close, not leaks: they are closed before the check. The configuration
// repository's example files export to localhost:4318, which CI's Jaeger answers: the SDK's
// OTLP/HTTP exporters (v1.47.0) leave their own transport's idle keep-alive connection open
// after Shutdown, so net/http's connection loops are not counted; every other goroutine is.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
