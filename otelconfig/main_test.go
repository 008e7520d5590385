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
// the client's to close, not leaks: they are closed before the check.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
