package ctxtrail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
)

// The messages a newcomer meets first: each names the setting, what was wrong and what to write.
func TestInstallConfigHints(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		opts []Option
		want []string // every part must be in the message
		not  []string // and none of these
	}{
		{
			name: "schedule delay with a unit",
			env:  map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "5s"},
			want: []string{`OTEL_BSP_SCHEDULE_DELAY="5s"`, "the unit is milliseconds", "OTEL_BSP_SCHEDULE_DELAY=5000"},
		},
		{
			name: "export timeout with a unit",
			env:  map[string]string{"OTEL_BSP_EXPORT_TIMEOUT": "250ms"},
			want: []string{`OTEL_BSP_EXPORT_TIMEOUT="250ms"`, "the unit is milliseconds", "OTEL_BSP_EXPORT_TIMEOUT=250"},
		},
		{
			name: "schedule delay not a number",
			env:  map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "soon"},
			want: []string{`OTEL_BSP_SCHEDULE_DELAY="soon"`, "whole number of milliseconds"},
		},
		{
			name: "grpc endpoint hint from the environment",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			want: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"},
			not:  []string{"localhost:4318 "},
		},
		{
			name: "grpc endpoint hint from options",
			opts: []Option{WithOTLPProtocol("grpc"), WithOTLP("collector")},
			want: []string{"ctxtrail.WithOTLP", "http://localhost:4317"},
		},
		{
			name: "http endpoint hint",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			want: []string{"http://localhost:4318"},
			not:  []string{"4317"},
		},
		{
			name: "jaeger exporter",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"},
			want: []string{`exporter "jaeger"`, "Jaeger accepts OTLP", "use otlp", "OTEL_EXPORTER_OTLP_ENDPOINT=http://<jaeger-host>:4318"},
		},
		{
			name: "jaeger exporter by option",
			opts: []Option{WithExporterName("console", "jaeger")},
			want: []string{"ctxtrail.WithExporterName", `"jaeger"`, "use otlp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := installErr(t, tt.env, tt.opts...)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to mention %q", err, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q: should not mention %q", err, w)
				}
			}
		})
	}
}

// OTEL_SDK_DISABLED: only "true" disables (the specification forbids other true values), and
// a value that is neither true nor false is reported, since its writer meant something by it.
func TestInstallSDKDisabledValues(t *testing.T) {
	tests := []struct {
		value    string
		disabled bool
		warns    bool
	}{
		{"true", true, false},
		{"TRUE", true, false},
		{" True ", true, false},
		{"false", false, false},
		{"False", false, false},
		{"", false, false},
		{"yes", false, true},
		{"1", false, true},
		{"on", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_SDK_DISABLED", tt.value)
			rec := new(errSink)
			old := otel.GetErrorHandler()
			otel.SetErrorHandler(otel.ErrorHandlerFunc(rec.sink))
			defer otel.SetErrorHandler(old)

			p := install(t, WithoutExporter())
			_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "s")
			sampled := span.SpanContext().IsSampled()
			span.End()
			if sampled == tt.disabled {
				t.Errorf("OTEL_SDK_DISABLED=%q: span sampled %v, want %v", tt.value, sampled, !tt.disabled)
			}
			errs := rec.reports()
			if !tt.warns {
				if len(errs) > 0 {
					t.Errorf("OTEL_SDK_DISABLED=%q: unexpected warnings %v", tt.value, errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("OTEL_SDK_DISABLED=%q: %d warnings %v, want 1", tt.value, len(errs), errs)
			}
			msg := errs[0].Error()
			if !errors.Is(errs[0], ErrConfig) || !strings.Contains(msg, `OTEL_SDK_DISABLED="`+tt.value+`"`) ||
				!strings.Contains(msg, "want true or false") || !strings.Contains(msg, "read as false") {
				t.Errorf("warning %q: want ErrConfig naming the value, what is wanted and how it was read", msg)
			}
		})
	}
}

// installErr runs Install in a clean environment plus env and returns its error, which must be
// a configuration error.
func installErr(t *testing.T, env map[string]string, opts ...Option) error {
	t.Helper()
	clearEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	p, err := Install(context.Background(), append([]Option{WithoutGlobal()}, opts...)...)
	if err == nil {
		_ = p.Shutdown(context.Background())
		t.Fatal("Install accepted a bad configuration")
	}
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("error %q does not wrap ErrConfig", err)
	}
	return err
}
