package ctxtrail

import (
	"io"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/configfile"
	"github.com/ctxtrail/ctxtrail/internal/remotesampling"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter names, as OTEL_TRACES_EXPORTER spells them.
const (
	ExporterConsole = "console" // stdouttrace: JSON to a writer, stdout by default
	ExporterOTLP    = "otlp"    // OTLP over http/protobuf or grpc
	ExporterNone    = "none"    // spans are processed (hooks, monitor) but sent nowhere

	// ExporterWaterfall draws each trace in the terminal once its local root span ends, with
	// the log lines of that request (see package otelctx/waterfall). The name is ctxtrail's own:
	// no other SDK knows it.
	ExporterWaterfall = "ctxtrail-waterfall"
)

// ConsoleScheduleDelay is how long the console exporter's batch processor waits before writing
// (the SDK's default, 5 s, is made for a collector and leaves a newcomer thinking nothing was
// traced). OTEL_BSP_SCHEDULE_DELAY and WithBatchOptions still win. Other exporters keep the
// SDK's default.
const ConsoleScheduleDelay = 100 * time.Millisecond

// OTLP protocols, as OTEL_EXPORTER_OTLP_PROTOCOL spells them.
const (
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolGRPC         = "grpc"
)

type config struct {
	serviceName   string
	resourceAttrs []attribute.KeyValue

	exporterNames []string                          // WithExporterName / WithOTLP / WithoutExporter
	exporters     []labelled[sdktrace.SpanExporter] // WithExporter ("custom") and a file's, by name
	writer        io.Writer
	pretty        bool
	otlpEndpoint  string
	otlpProtocol  string
	waterfall     *waterfall.Printer // WithWaterfall's, owned by the caller

	sampler       sdktrace.Sampler
	wrapSampler   []func(sdktrace.Sampler) sdktrace.Sampler // WithSamplerWrapper
	remoteSampler remotesampling.Start                      // jaegerremote.Enable's (remotesampling.go)
	processors    []sdktrace.SpanProcessor
	batchOpts     []sdktrace.BatchSpanProcessorOption
	propagators   []propagation.TextMapPropagator
	noGlobal      bool
	keep          *keepConfig      // WithKeepErrorsAndSlow (keep.go)
	exportHolds   []SpanExportHold // WithSpanExportHold (evidence_install.go)

	lossInterval time.Duration
	lossSink     func(error)
	errorFunc    func(error) // WithErrorHandler (errorlog.go)

	metrics metricsConfig // metrics.go
	logs    logsConfig    // logs.go
	file    fileConfig    // configfile.go
}

// Option configures Install.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithServiceName sets service.name. It wins over OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) Option {
	return optionFunc(func(c config) config { c.serviceName = name; return c })
}

// WithResourceAttributes adds attributes to the resource. They win over OTEL_RESOURCE_ATTRIBUTES.
func WithResourceAttributes(kvs ...attribute.KeyValue) Option {
	return optionFunc(func(c config) config {
		c.resourceAttrs = append(append([]attribute.KeyValue(nil), c.resourceAttrs...), kvs...)
		return c
	})
}

// WithExporter sends spans to e through a batch span processor. Any exporter option makes
// Install ignore OTEL_TRACES_EXPORTER.
func WithExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c config) config {
		c.exporters = appendLabelled(c.exporters, exporterCustom, e)
		return c
	})
}

// exporterCustom is the name Install reports an exporter or metric reader given in code under.
const exporterCustom = "custom"

// labelled is an exporter or metric reader with the name Provider.Exporters, LogExporters and
// MetricExporters report it under: exporterCustom when given in code, its kind when a
// configuration file made it.
type labelled[T any] struct {
	name string
	v    T
}

// appendLabelled appends to a copy of s, so that options never share a backing array.
func appendLabelled[T any](s []labelled[T], name string, v T) []labelled[T] {
	return append(append([]labelled[T](nil), s...), labelled[T]{name, v})
}

// withNamed adds an exporter or reader the configuration file made, under its name.
func withNamed(n configfile.Named) Option {
	return optionFunc(func(c config) config {
		switch {
		case n.Span != nil:
			c.exporters = appendLabelled(c.exporters, n.Name, n.Span)
		case n.Log != nil:
			c.logs.exporters = appendLabelled(c.logs.exporters, n.Name, n.Log)
		case n.Reader != nil:
			c.metrics.readers = appendLabelled(c.metrics.readers, n.Name, n.Reader)
		}
		return c
	})
}

// WithExporterName chooses exporters by name (ExporterConsole, ExporterOTLP, ExporterWaterfall,
// ExporterNone), as OTEL_TRACES_EXPORTER would, and wins over it.
func WithExporterName(names ...string) Option {
	return optionFunc(func(c config) config {
		c.exporterNames = append(append([]string(nil), c.exporterNames...), names...)
		return c
	})
}

// WithWaterfall chooses the terminal waterfall exporter (ExporterWaterfall). With a nil p,
// Install makes a Printer writing to WithWriter's writer (standard output by default) and shuts
// it down with the Provider. A Printer of your own (waterfall.New) can serve several Installs of
// one process, whose traces then draw as one; it stays yours: the Provider's Shutdown flushes
// it, and you shut it down after the last Provider.
func WithWaterfall(p *waterfall.Printer) Option {
	return optionFunc(func(c config) config {
		c.exporterNames = append(append([]string(nil), c.exporterNames...), ExporterWaterfall)
		c.waterfall = p
		return c
	})
}

// WithoutExporter exports nothing; span processors (hooks, the monitor) still see every span.
func WithoutExporter() Option { return WithExporterName(ExporterNone) }

// WithWriter sets where the console exporter writes (os.Stdout by default). On its own it does
// not choose the console exporter; with no exporter configured anywhere, console is the default.
func WithWriter(w io.Writer) Option {
	return optionFunc(func(c config) config { c.writer = w; return c })
}

// WithPrettyPrint makes the console exporter indent its JSON. By default it writes one compact
// JSON object per line.
func WithPrettyPrint() Option {
	return optionFunc(func(c config) config { c.pretty = true; return c })
}

// WithOTLP chooses the OTLP exporter and sends to endpoint, a URL such as
// "http://localhost:4318" (http/protobuf; the /v1/traces path is added when the URL has no path)
// or, with WithOTLPProtocol(ProtocolGRPC), "http://localhost:4317". It wins over the
// OTEL_EXPORTER_OTLP_* endpoint variables; the other OTLP variables (headers, timeout,
// compression, certificates) still apply. An empty endpoint uses the environment's.
func WithOTLP(endpoint string) Option {
	return optionFunc(func(c config) config {
		c.exporterNames = append(append([]string(nil), c.exporterNames...), ExporterOTLP)
		c.otlpEndpoint = endpoint
		return c
	})
}

// WithOTLPProtocol sets the OTLP protocol: ProtocolHTTPProtobuf (the default) or ProtocolGRPC.
func WithOTLPProtocol(protocol string) Option {
	return optionFunc(func(c config) config { c.otlpProtocol = protocol; return c })
}

// WithSampler sets the sampler, winning over OTEL_TRACES_SAMPLER. The default is
// ParentBased(AlwaysSample()).
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c config) config { c.sampler = s; return c })
}

// WithSamplerWrapper wraps the sampler Install chooses, WithSampler's or else the one
// OTEL_TRACES_SAMPLER names (a jaeger_remote sampler, given jaegerremote.Enable, once it polls
// Jaeger). spans.Monitor counts the spans sampled out under any of them with
// WithSamplerWrapper(mon.Sampler), where WithSampler(mon.Sampler(s)) counts only under an s of
// your own and makes Install ignore OTEL_TRACES_SAMPLER. Wrappers apply in the order given, the last outermost; one that returns
// nil leaves the sampler as it was. Under OTEL_SDK_DISABLED=true nothing is sampled and
// nothing is wrapped.
func WithSamplerWrapper(wrap func(sdktrace.Sampler) sdktrace.Sampler) Option {
	return optionFunc(func(c config) config {
		if wrap != nil {
			c.wrapSampler = append(append([]func(sdktrace.Sampler) sdktrace.Sampler(nil), c.wrapSampler...), wrap)
		}
		return c
	})
}

// WithSpanProcessor registers sp with the tracer provider beside the exporting batch processor:
// this is how spans.Processor (lifecycle hooks, the monitor) plugs in. Processors are called in
// the order given, before the exporting processors.
func WithSpanProcessor(sp sdktrace.SpanProcessor) Option {
	return optionFunc(func(c config) config {
		c.processors = append(append([]sdktrace.SpanProcessor(nil), c.processors...), sp)
		return c
	})
}

// WithBatchOptions passes options to every batch span processor Install creates. They win over
// the OTEL_BSP_* variables.
func WithBatchOptions(opts ...sdktrace.BatchSpanProcessorOption) Option {
	return optionFunc(func(c config) config {
		c.batchOpts = append(append([]sdktrace.BatchSpanProcessorOption(nil), c.batchOpts...), opts...)
		return c
	})
}

// WithPropagation sets the propagation formats Install composes into the Provider's propagator
// (and the global one, unless WithoutGlobal), winning over OTEL_PROPAGATORS. It is named apart
// from httpctx.WithPropagator and grpcctx.WithPropagator, which hand one built propagator to one
// handler, transport or interceptor.
func WithPropagation(ps ...propagation.TextMapPropagator) Option {
	return optionFunc(func(c config) config {
		c.propagators = append(append([]propagation.TextMapPropagator(nil), c.propagators...), ps...)
		return c
	})
}

// WithoutGlobal leaves the OpenTelemetry globals (tracer provider, propagator) alone; use the
// Provider's methods instead. Useful in tests and in programs that run several providers.
func WithoutGlobal() Option {
	return optionFunc(func(c config) config { c.noGlobal = true; return c })
}

// WithLossWarnings sets how lost spans are reported: at most one *LossWarning per interval
// (DefaultWarnInterval when zero or negative) goes to sink (otel.Handle when nil). A span is lost
// when the export queue is full (the request path never waits for the exporter) or when the
// export carrying it fails. Provider.Stats counts them all, whatever is reported. The sink may be
// called on a request's goroutine and must not block.
func WithLossWarnings(interval time.Duration, sink func(error)) Option {
	return optionFunc(func(c config) config { c.lossInterval, c.lossSink = interval, sink; return c })
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}
