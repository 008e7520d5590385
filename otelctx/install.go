package otelctx

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Provider is what Install sets up: a tracer provider, its exporters and the propagator. Shut it
// down before the process exits so that buffered spans are sent.
type Provider struct {
	tp         *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
	exporters  []string

	stopExports context.CancelFunc // aborts exports still running when Shutdown's ctx ends
	once        sync.Once
	err         error
}

// Install builds a tracer provider from opts and the standard OTEL_* environment variables,
// registers it and the propagators as the OpenTelemetry globals (unless WithoutGlobal), and
// returns it. Options win over the environment.
//
// The exporter is chosen from the options first (WithExporter, WithExporterName, WithOTLP,
// WithoutExporter), then OTEL_TRACES_EXPORTER (console, otlp, none, or a comma-separated list),
// then OTLP if an OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and
// otherwise the console exporter writing JSON lines to stdout (or WithWriter's writer).
//
// A bad setting is returned as an error wrapping ErrConfig that names the setting and what it
// wants; Install never falls back silently.
func Install(ctx context.Context, opts ...Option) (*Provider, error) {
	cfg := newConfig(opts)

	res, err := buildResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sampler := cfg.sampler
	if sampler == nil {
		if sampler, err = samplerFromEnv(); err != nil {
			return nil, err
		}
	}
	batchOpts, err := batchOptionsFromEnv()
	if err != nil {
		return nil, err
	}
	batchOpts = append(batchOpts, cfg.batchOpts...)
	prop, err := buildPropagator(cfg)
	if err != nil {
		return nil, err
	}

	sdkDisabled := strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true")
	exporters, names, err := buildExporters(ctx, cfg, sdkDisabled)
	if err != nil {
		return nil, err
	}
	if sdkDisabled {
		sampler = sdktrace.NeverSample()
	}

	exportCtx, stopExports := context.WithCancel(context.Background())
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	for _, sp := range cfg.processors {
		if sp != nil {
			tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
		}
	}
	for _, e := range exporters {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(&abortableExporter{SpanExporter: e, base: exportCtx}, batchOpts...))
	}
	p := &Provider{
		tp:          sdktrace.NewTracerProvider(tpOpts...),
		propagator:  prop,
		exporters:   names,
		stopExports: stopExports,
	}
	if !cfg.noGlobal {
		otel.SetTracerProvider(p.tp)
		otel.SetTextMapPropagator(prop)
	}
	return p, nil
}

func buildResource(ctx context.Context, cfg config) (*resource.Resource, error) {
	ropts := []resource.Option{
		resource.WithService(), // unknown_service:<executable>, overridden below
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME
		resource.WithAttributes(cfg.resourceAttrs...),
	}
	if cfg.serviceName != "" {
		ropts = append(ropts, resource.WithAttributes(attribute.String("service.name", cfg.serviceName)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil {
		if errors.Is(err, resource.ErrPartialResource) && getenv("OTEL_RESOURCE_ATTRIBUTES") != "" {
			return nil, configErr("OTEL_RESOURCE_ATTRIBUTES=%q: want key=value pairs separated by commas, "+
				"values percent-encoded (%v)", os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), err)
		}
		return nil, err
	}
	return res, nil
}

func buildPropagator(cfg config) (propagation.TextMapPropagator, error) {
	if len(cfg.propagators) > 0 {
		return propagation.NewCompositeTextMapPropagator(cfg.propagators...), nil
	}
	return propagatorsFromEnv()
}

// exporterNames decides which exporters run: options, then OTEL_TRACES_EXPORTER, then an OTLP
// endpoint in the environment, then console.
func exporterNames(cfg config) (names []string, source string) {
	switch {
	case len(cfg.exporterNames) > 0:
		return cfg.exporterNames, "otelctx.WithExporterName"
	case len(cfg.exporters) > 0:
		return nil, ""
	}
	if names := splitList(getenv("OTEL_TRACES_EXPORTER")); len(names) > 0 {
		return names, "OTEL_TRACES_EXPORTER"
	}
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		return []string{ExporterOTLP}, "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	return []string{ExporterConsole}, "default"
}

func buildExporters(ctx context.Context, cfg config, disabled bool) ([]sdktrace.SpanExporter, []string, error) {
	names, source := exporterNames(cfg)
	var (
		out  []sdktrace.SpanExporter
		used []string
	)
	for _, e := range cfg.exporters {
		if e != nil {
			out = append(out, e)
			used = append(used, "custom")
		}
	}
	for _, name := range names {
		var (
			e   sdktrace.SpanExporter
			err error
		)
		switch name {
		case ExporterNone:
			continue
		case ExporterConsole, "logging", "stdout":
			e, err = consoleExporter(cfg)
			name = ExporterConsole
		case ExporterOTLP:
			e, err = otlpExporter(ctx, cfg)
		default:
			err = configErr("%s names exporter %q: want console, otlp or none", source, name)
		}
		if err != nil {
			shutdownAll(ctx, out)
			return nil, nil, err
		}
		out = append(out, e)
		used = append(used, name)
	}
	if disabled { // OTEL_SDK_DISABLED: configuration is still checked above, nothing is exported
		shutdownAll(ctx, out)
		return nil, nil, nil
	}
	return out, used, nil
}

func shutdownAll(ctx context.Context, es []sdktrace.SpanExporter) {
	for _, e := range es {
		_ = e.Shutdown(ctx)
	}
}

func consoleExporter(cfg config) (sdktrace.SpanExporter, error) {
	w := cfg.writer
	if w == nil {
		w = os.Stdout
	}
	opts := []stdouttrace.Option{stdouttrace.WithWriter(w)}
	if cfg.pretty {
		opts = append(opts, stdouttrace.WithPrettyPrint())
	}
	return stdouttrace.New(opts...)
}

func otlpExporter(ctx context.Context, cfg config) (sdktrace.SpanExporter, error) {
	protocol := strings.ToLower(cfg.otlpProtocol)
	source := "otelctx.WithOTLPProtocol"
	if protocol == "" {
		source = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
		if protocol = strings.ToLower(getenv(source)); protocol == "" {
			source = "OTEL_EXPORTER_OTLP_PROTOCOL"
			protocol = strings.ToLower(getenv(source))
		}
	}
	if protocol == "" {
		protocol = ProtocolHTTPProtobuf
	}
	switch protocol {
	case ProtocolHTTPProtobuf, ProtocolGRPC:
	case "http/json":
		return nil, configErr("%s=%q: the Go OTLP exporter does not speak http/json; use http/protobuf or grpc", source, protocol)
	default:
		return nil, configErr("%s=%q: want http/protobuf or grpc", source, protocol)
	}

	// Check the endpoint ourselves: the exporters drop a malformed one with only a log line.
	endpoint := cfg.otlpEndpoint
	endpointSource := "otelctx.WithOTLP"
	if endpoint == "" {
		for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if v := getenv(key); v != "" {
				if _, err := checkEndpoint(key, v); err != nil {
					return nil, err
				}
				break
			}
		}
	} else if _, err := checkEndpoint(endpointSource, endpoint); err != nil {
		return nil, err
	}

	if protocol == ProtocolGRPC {
		var opts []otlptracegrpc.Option
		if endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(withTracesPath(endpoint)))
	}
	return otlptracehttp.New(ctx, opts...)
}

// withTracesPath adds /v1/traces to a base URL with no path, as the OTLP spec does for
// OTEL_EXPORTER_OTLP_ENDPOINT.
func withTracesPath(endpoint string) string {
	u, err := checkEndpoint("", endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return endpoint
	}
	u.Path = "/v1/traces"
	return u.String()
}

// abortableExporter gives every export a context that Shutdown can cancel, so a collector that
// hangs cannot keep the batch processor's goroutine alive past Shutdown's deadline.
type abortableExporter struct {
	sdktrace.SpanExporter
	base context.Context
}

func (e *abortableExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.base.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.base, cancel)
	defer func() { stop(); cancel() }()
	return e.SpanExporter.ExportSpans(ctx, spans)
}

// TracerProvider returns the SDK tracer provider.
func (p *Provider) TracerProvider() *sdktrace.TracerProvider { return p.tp }

// Tracer returns a tracer of this provider.
func (p *Provider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return p.tp.Tracer(name, opts...)
}

// Propagator returns the composite propagator Install built.
func (p *Provider) Propagator() propagation.TextMapPropagator { return p.propagator }

// Exporters returns the names of the exporters in use ("console", "otlp", "custom").
func (p *Provider) Exporters() []string { return append([]string(nil), p.exporters...) }

// ForceFlush exports every span ended so far.
func (p *Provider) ForceFlush(ctx context.Context) error { return p.tp.ForceFlush(ctx) }

// Shutdown flushes every ended span and stops the processors and exporters. It returns by ctx's
// deadline even when a collector hangs: exports still running then are aborted, and what they
// carried is lost (the error says so). Later calls return the first call's result.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.once.Do(func() {
		p.err = p.tp.Shutdown(ctx)
		p.stopExports()
	})
	return p.err
}
