// Package configfile is the seam between ctxtrail.Install, which notices OTEL_CONFIG_FILE, and
// module otelconfig, which reads OpenTelemetry configuration files. Install holds a Source only
// when the service passes one of otelconfig's options, so a binary that never reads a file
// links no YAML parser (CI keeps yaml out of the library's go.mod).
package configfile

import (
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Source is what otelconfig hands Install: a file already read (Loaded) or the loader Install
// calls with OTEL_CONFIG_FILE's path.
type Source struct {
	Loaded *Loaded                            // a file or bytes named in code; wins over OTEL_CONFIG_FILE
	Load   func(path string) (*Loaded, error) // reads OTEL_CONFIG_FILE's file
}

// Loaded is one configuration file turned into what Install applies.
type Loaded struct {
	Name string // the file's path, or a description of bytes given in code
	// Options are ctxtrail.Option values (any: this package cannot import the root), applied
	// before the service's own options, which win.
	Options []any
	// Env lists the variables the file names in ${...} substitutions: the only OTEL_* variables
	// that still count when the file is in use.
	Env []string
	// Warnings are reported through Install's error handler once the file is applied: keys the
	// specification asks an implementation to tolerate, each with its line.
	Warnings []error
	Disabled bool // disabled: true

	RemoteSampler *RemoteSampler // a jaeger_remote sampler, started by jaegerremote.Enable's seam

	// The providers' options that no Install option carries: the limits, and the settings the
	// SDK would otherwise read from OTEL_* variables itself.
	TracerProvider []sdktrace.TracerProviderOption
	LoggerProvider []sdklog.LoggerProviderOption
	MeterProvider  []sdkmetric.Option
}

// RemoteSampler is a jaeger_remote/development sampler from the file, checked.
type RemoteSampler struct {
	ParentBased         bool
	Endpoint            string
	PollingInterval     time.Duration
	InitialSamplingRate float64
}
