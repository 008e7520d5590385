package otelconfig_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
)

// blankOTELEnv empties every OTEL_* variable for the test, so that the machine's own do not
// leak into what a file is checked against.
func blankOTELEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

// install runs Install without touching the globals and shuts the Provider down at the end.
func install(t *testing.T, opts ...ctxtrail.Option) *ctxtrail.Provider {
	t.Helper()
	p, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{ctxtrail.WithoutGlobal()}, opts...)...)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}
