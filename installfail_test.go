package ctxtrail_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"go.uber.org/goleak"
)

// An Install that fails once its exporters are made stops what it made: the terminal
// waterfall's printer and a periodic metric reader run goroutines from the moment they are
// made, and a failing metrics or logs step used to leave the printer running.
func TestInstallFailureStopsWhatItMade(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ctxtrail.Option
	}{
		{"metrics", []ctxtrail.Option{ctxtrail.WithMetricsExporterName("zipkin")}},
		// The console metric reader Install made runs a goroutine of its own too.
		{"logs", []ctxtrail.Option{ctxtrail.WithMetricsExporterName(ctxtrail.ExporterConsole), ctxtrail.WithLogExporterName("zipkin")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			_, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{ctxtrail.WithoutGlobal(),
				ctxtrail.WithWriter(&bytes.Buffer{}), ctxtrail.WithExporterName(ctxtrail.ExporterWaterfall)}, tc.opts...)...)
			if !errors.Is(err, ctxtrail.ErrConfig) {
				t.Fatalf("Install = %v, want the %s step's ErrConfig", err, tc.name)
			}
			if err := goleak.Find(before); err != nil {
				t.Errorf("after the failed Install: %v", err)
			}
		})
	}
}
