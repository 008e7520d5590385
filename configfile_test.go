package ctxtrail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/configfile"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// OTEL_CONFIG_FILE in a program that cannot read it fails Install with an error that names the
// variable and the fix, instead of configuring the service from something else.
func TestInstallRefusesConfigFileWithoutReader(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("OTEL_CONFIG_FILE", "/etc/otel/sdk.yaml")
	_, err := Install(context.Background(), WithoutGlobal())
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Install = %v, want an error wrapping ErrConfig", err)
	}
	for _, w := range []string{`OTEL_CONFIG_FILE="/etc/otel/sdk.yaml"`, "otelconfig.Enable()", "github.com/ctxtrail/ctxtrail/otelconfig"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// A file's settings go under the service's options, the OTEL_* variables it replaces are
// named once in one warning (those the file substitutes are not), and Install reads none of
// them: a bad OTEL_BSP_*, OTEL_BLRP_* or OTEL_METRIC_EXPORT_* value that would fail Install is
// not even looked at.
func TestInstallAppliesConfigFileOverEnv(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team=env,region=env-only")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "lots")  // an error without the file
	t.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "lots") // so are these three
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "lots")
	t.Setenv("OTEL_METRIC_EXPORT_TIMEOUT", "lots")
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes") // an error without the file
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	t.Setenv("OTEL_CONFIG_FILE", "/etc/otel/sdk.yaml")
	rec := tracetest.NewInMemoryExporter()
	var loadedPath string
	src := configfile.Source{Load: func(path string) (*configfile.Loaded, error) {
		loadedPath = path
		return &configfile.Loaded{
			Name: path,
			Options: []any{WithServiceName("from-file"), WithResourceAttributes(attribute.String("team", "file")),
				WithExporter(rec), WithSampler(sdktrace.AlwaysSample()), WithoutMetrics(), WithoutLogs()},
			Env:            []string{"OTEL_EXPORTER_OTLP_ENDPOINT"},
			TracerProvider: []sdktrace.TracerProviderOption{sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{AttributeCountLimit: 1, EventCountLimit: -1, LinkCountLimit: -1, AttributeValueLengthLimit: -1, AttributePerEventCountLimit: -1, AttributePerLinkCountLimit: -1})},
		}, nil
	}}
	service := new(errorCapture)
	p := install(t, WithConfigFile(src), WithErrorHandler(service.handle), WithResourceAttributes(attribute.String("owner", "code")))
	if loadedPath != "/etc/otel/sdk.yaml" {
		t.Fatalf("loader got %q", loadedPath)
	}
	_, span := p.Tracer("t").Start(context.Background(), "op")
	span.SetAttributes(attribute.Int("a", 1), attribute.Int("b", 2))
	span.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("exported %d spans, want 1", len(spans))
	}
	res := spans[0].Resource.Set()
	for k, want := range map[attribute.Key]string{"service.name": "from-file", "team": "file", "owner": "code"} {
		if v, _ := res.Value(k); v.AsString() != want {
			t.Errorf("resource %s = %q, want %q", k, v.AsString(), want)
		}
	}
	// The SDK's providers merge OTEL_RESOURCE_ATTRIBUTES under any resource; the warning says so.
	if v, _ := res.Value("region"); v.AsString() != "env-only" {
		t.Errorf("resource region=%q: the SDK no longer merges OTEL_RESOURCE_ATTRIBUTES; say so no more in warnReplacedEnv", v.AsString())
	}
	if n := len(spans[0].Attributes); n != 1 {
		t.Errorf("span kept %d attributes, want the file's limit of 1", n)
	}
	var replaced []error
	for _, err := range service.all() {
		if errors.Is(err, ErrEnvIgnored) {
			replaced = append(replaced, err)
		}
	}
	if len(replaced) != 1 {
		t.Fatalf("%d ErrEnvIgnored warnings %v, want one", len(replaced), replaced)
	}
	msg := replaced[0].Error()
	for _, w := range []string{"OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT, OTEL_TRACES_SAMPLER are ignored", "/etc/otel/sdk.yaml",
		"OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME are still merged under the file's resource"} {
		if !strings.Contains(msg, w) {
			t.Errorf("warning %q does not say %q", msg, w)
		}
	}
	if strings.Contains(msg, "OTEL_EXPORTER_OTLP_ENDPOINT") || strings.Contains(msg, "OTEL_CONFIG_FILE,") {
		t.Errorf("warning %q names a variable the file uses", msg)
	}
}

// A jaeger_remote sampler in the file needs jaegerremote.Enable, as OTEL_TRACES_SAMPLER does.
func TestInstallConfigFileRemoteSamplerNeedsJaegerremote(t *testing.T) {
	blankOTELEnv(t)
	src := loadedSource(&configfile.Loaded{Name: "sdk.yaml", Options: []any{WithoutExporter()},
		RemoteSampler: &configfile.RemoteSampler{Endpoint: "http://127.0.0.1:5778/sampling"}})
	_, err := Install(context.Background(), WithoutGlobal(), WithConfigFile(src))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "jaegerremote.Enable()") {
		t.Fatalf("Install = %v, want ErrConfig naming jaegerremote.Enable()", err)
	}
}

// disabled: true in the file turns the SDK off as OTEL_SDK_DISABLED=true would.
func TestInstallConfigFileDisabled(t *testing.T) {
	blankOTELEnv(t)
	rec := tracetest.NewInMemoryExporter()
	src := loadedSource(&configfile.Loaded{Name: "sdk.yaml", Disabled: true,
		Options: []any{WithExporter(rec), WithSampler(sdktrace.AlwaysSample())}})
	p := install(t, WithConfigFile(src))
	_, span := p.Tracer("t").Start(context.Background(), "op")
	if span.SpanContext().IsSampled() {
		t.Error("span sampled with disabled: true")
	}
	span.End()
}

// loadedSource is a configuration given in code, as otelconfig.File gives one.
func loadedSource(l *configfile.Loaded) configfile.Source {
	return configfile.Source{Name: l.Name, Load: func(string) (*configfile.Loaded, error) { return l, nil }}
}
