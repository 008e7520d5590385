package ctxtrail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

// blankOTELEnv blanks every OTEL_* variable of the machine's environment for one test: an empty
// variable is never reported, so only what the test sets is.
func blankOTELEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

// ignoredIn returns the variables named by the ErrEnvIgnored warnings among errs.
func ignoredIn(errs []error) []string {
	var out []string
	for _, err := range errs {
		if !errors.Is(err, ErrEnvIgnored) {
			continue
		}
		if m := regexp.MustCompile(`OTEL_[A-Z0-9_]+`).FindString(err.Error()); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// Every OTEL_* variable that neither Install nor the SDK it builds reads is named in a warning,
// once per Install, through the service's error handler (or otel.Handle without one);
// OTEL_EXPERIMENTAL_CONFIG_FILE says it was renamed. The variables Install honours, and those
// the SDK and the OTLP exporters read themselves, are not reported.
func TestInstallWarnsIgnoredEnv(t *testing.T) {
	blankOTELEnv(t)
	for k, v := range map[string]string{
		// read by nobody
		"OTEL_EXPERIMENTAL_CONFIG_FILE": "/etc/otel/sdk.yaml", // renamed OTEL_CONFIG_FILE
		"OTEL_EXPORTER_ZIPKIN_ENDPOINT": "http://zipkin:9411/api/v2/spans",
		"OTEL_LOG_LEVEL":                "debug",
		"OTEL_TRACES_SAMPLER_RATIO":     "0.5", // a typo of OTEL_TRACES_SAMPLER_ARG
		// read by Install
		"OTEL_SERVICE_NAME": "checkout", "OTEL_PROPAGATORS": "tracecontext,b3", "OTEL_TRACES_EXPORTER": "none",
		"OTEL_BSP_SCHEDULE_DELAY": "5000", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
		"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc", "OTEL_EXPORTER_PROMETHEUS_PORT": "9464",
		"OTEL_EXPORTER_PROMETHEUS_HOST": "localhost",
		// read by the SDK or the OTLP exporters
		"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "64", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "4096",
		"OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT": "32", "OTEL_METRICS_EXEMPLAR_FILTER": "trace_based",
		"OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=acme", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "5000",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta", "OTEL_GO_X_OBSERVABILITY": "false",
		// empty: not set in effect
		"OTEL_EXPORTER_JAEGER_ENDPOINT": "",
	} {
		t.Setenv(k, v)
	}
	want := []string{"OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_EXPORTER_ZIPKIN_ENDPOINT", "OTEL_LOG_LEVEL", "OTEL_TRACES_SAMPLER_RATIO"}

	t.Run("through the service's handler", func(t *testing.T) {
		stray, logged := stderrWatch(t)
		service := new(errorCapture)
		for run := range 2 { // once per Install, every Install
			before := len(service.all())
			p := install(t, WithErrorHandler(service.handle))
			got := ignoredIn(service.all()[before:])
			if !slices.Equal(got, want) {
				t.Errorf("Install %d reported %q as ignored, want %q", run, got, want)
			}
			_ = p.Shutdown(context.Background())
		}
		if errs := stray.all(); len(errs) > 0 || logged.Len() > 0 {
			t.Errorf("went around the service's handler: %v %q", errs, logged.String())
		}
		cfg := service.find("OTEL_EXPERIMENTAL_CONFIG_FILE")
		if cfg == nil {
			t.Fatal("no warning for OTEL_EXPERIMENTAL_CONFIG_FILE")
		}
		for _, w := range []string{"renamed it OTEL_CONFIG_FILE", "otelconfig.Enable()", "ignored", "OTEL_* variables"} {
			if !strings.Contains(cfg.Error(), w) {
				t.Errorf("OTEL_EXPERIMENTAL_CONFIG_FILE warning %q does not say %q", cfg, w)
			}
		}
		if msg, _ := otelctx.ErrorFields(cfg); msg != "environment variable ignored" {
			t.Errorf("ErrorFields message %q, want %q", msg, "environment variable ignored")
		}
	})

	t.Run("through otel.Handle without one", func(t *testing.T) {
		stray, _ := stderrWatch(t)
		install(t)
		if got := ignoredIn(stray.all()); !slices.Equal(got, want) {
			t.Errorf("otel.Handle was told %q, want %q", got, want)
		}
	})
}

// Every OTEL_* name the package's code mentions is in honouredEnv or sdkEnv, so a variable
// that Install starts to read is never reported as ignored.
func TestHonouredEnvListsEveryVariableRead(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	known := append(slices.Clone(honouredEnv), sdkEnv...)
	// Named only by ignoredEnvErr, to say why they are ignored.
	explained := []string{"OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_LOG_LEVEL"}
	name := regexp.MustCompile(`"(OTEL_[A-Z0-9_]*[A-Z0-9])"`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(string(src), -1) {
			seen++
			k := m[1]
			if !slices.Contains(known, k) && !slices.Contains(explained, k) && !strings.HasPrefix(k, sdkEnvPrefix) {
				t.Errorf("%s reads %s, which honouredEnv does not list: Install would call it ignored", f, k)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found %d OTEL_* names in the package's code; the scan is broken", seen)
	}
	var reported []error
	for i := range known {
		known[i] += "=1"
	}
	warnIgnoredEnv(append(known, "OTEL_GO_X_RESOURCE=1"), func(err error) { reported = append(reported, err) })
	if len(reported) > 0 {
		t.Errorf("known variables reported as ignored: %v", reported)
	}
}
