package otelconfig_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every exporter, reader, sampler poller and monitor a file makes stops with its Provider.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
