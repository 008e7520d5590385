// Package configfile is the seam between ctxtrail.Install, which notices OTEL_CONFIG_FILE, and
// module otelconfig, which reads OpenTelemetry configuration files. Install holds a Source only
// when the service passes one of otelconfig's options, so a binary that never reads a file
// links no YAML parser (CI keeps yaml out of the library's go.mod).
package configfile

import (
	"context"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Source is what otelconfig hands Install: a configuration named in code, or none, in which
// case Install loads OTEL_CONFIG_FILE's file when that is set. Install calls Load once, so that
// the exporters the file names are made by the Install that owns them.
type Source struct {
	Name string                             // the file or bytes given in code; "" reads OTEL_CONFIG_FILE
	Load func(path string) (*Loaded, error) // path is Name, or OTEL_CONFIG_FILE's value
}

// Loaded is one configuration file turned into what Install applies.
type Loaded struct {
	Name string // the file's path, or a description of bytes given in code
	// Options are ctxtrail.Option and Named values (any: this package cannot import the root),
	// applied before the service's own options, which win.
	Options []any
	// Env lists the variables the file names in ${...} substitutions: the only OTEL_* variables
	// that still count when the file is in use.
	Env []string
	// Warnings are reported through Install's error handler once the file is applied: keys the
	// specification asks an implementation to tolerate, each with its line.
	Warnings []error
	Disabled bool // disabled: true
	// Propagators are the names of the file's composite propagator (tracecontext, baggage,
	// xtrace, b3, b3multi, jaeger), which Install composes as it does OTEL_PROPAGATORS'; none
	// propagates nothing, as the specification asks when the file has no propagator.
	Propagators []string

	RemoteSampler *RemoteSampler // a jaeger_remote sampler, started by jaegerremote.Enable's seam

	// Close stops what loading made (exporters, metric readers, the waterfall's printer) when
	// Install fails after the load: nothing else owns them then. Nil when nothing was made.
	Close func(context.Context) error

	// The providers' options that no Install option carries: the limits, and the settings the
	// SDK would otherwise read from OTEL_* variables itself.
	TracerProvider []sdktrace.TracerProviderOption
	LoggerProvider []sdklog.LoggerProviderOption
	MeterProvider  []sdkmetric.Option
}

// Named is an exporter or a metric reader the file made, given to Install (in Loaded.Options)
// with the name Install reports it under: Provider.Exporters, LogExporters, MetricExporters and
// the loss warnings say "otlp" for the file's OTLP exporters, not "custom" as for an exporter
// given in code. Exactly one of Span, Log and Reader is set.
type Named struct {
	Name   string
	Span   sdktrace.SpanExporter
	Log    sdklog.Exporter
	Reader sdkmetric.Reader
}

// RemoteSampler is a jaeger_remote/development sampler from the file, checked.
type RemoteSampler struct {
	ParentBased         bool
	Endpoint            string
	PollingInterval     time.Duration
	InitialSamplingRate float64
}
