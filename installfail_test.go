package ctxtrail_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"go.uber.org/goleak"
)

// An Install that fails once its exporters are made stops them: the terminal waterfall's
// printer runs a goroutine from the moment it is made, and a failing metrics or logs step
// used to leave it running with no Provider to stop it.
func TestInstallFailureStopsThePrinter(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  ctxtrail.Option
	}{
		{"metrics", ctxtrail.WithMetricsExporterName("zipkin")},
		{"logs", ctxtrail.WithLogExporterName("zipkin")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			_, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithWriter(&bytes.Buffer{}),
				ctxtrail.WithExporterName(ctxtrail.ExporterWaterfall), tc.opt)
			if !errors.Is(err, ctxtrail.ErrConfig) {
				t.Fatalf("Install = %v, want the %s step's ErrConfig", err, tc.name)
			}
			if err := goleak.Find(before); err != nil {
				t.Errorf("after the failed Install: %v", err)
			}
		})
	}
}
