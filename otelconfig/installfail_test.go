package otelconfig_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"go.uber.org/goleak"
)

// An Install that fails after loading the file stops what the file made for it: the waterfall's
// printer and the periodic metric reader each run a goroutine from the moment they are made,
// and no Provider exists to shut them down.
func TestInstallFailureStopsWhatTheFileMade(t *testing.T) {
	made := []string{`file_format: "1.1"`,
		`meter_provider: {readers: [{periodic: {interval: 60000, exporter: {console: }}}]}`,
		`tracer_provider:`,
		`  processors: [{simple: {exporter: {ctxtrail_waterfall: }}}]`}
	for _, tc := range []struct {
		name, want string
		file       []string
		opts       []ctxtrail.Option
	}{
		// The jaeger_remote sampler needs jaegerremote.Enable(): Install fails inside the file.
		{name: "while applying the file", want: "jaegerremote.Enable()",
			file: append(made, `  sampler: {parent_based: {root: {jaeger_remote/development: {endpoint: "http://127.0.0.1:1/sampling"}}}}`)},
		// The service's own exporter name is checked after the file is applied.
		{name: "after applying it", want: `names exporter "zipkin"`, file: made,
			opts: []ctxtrail.Option{ctxtrail.WithExporterName("zipkin")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blankOTELEnv(t)
			conf := parse(t, tc.file...)
			before := goleak.IgnoreCurrent()
			_, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{ctxtrail.WithoutGlobal(), conf.Option()}, tc.opts...)...)
			if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Install = %v, want ErrConfig naming %s", err, tc.want)
			}
			if err := goleak.Find(before); err != nil {
				t.Errorf("after the failed Install: %v", err)
			}
		})
	}
}
