package keep

import (
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults of the options.
const (
	DefaultSlowThreshold        = time.Second
	DefaultMaxSpansPerTrace     = 512
	DefaultMaxAttributesPerSpan = 64
	DefaultMaxEventsPerSpan     = 32
	DefaultMaxBytes             = 64 << 20
	DefaultMaxTraces            = 100_000
)

type config struct {
	slow      time.Duration
	maxSpans  int
	maxAttrs  int
	maxEvents int
	maxBytes  int64
	maxTraces int
	mp        metric.MeterProvider
	noSignal  bool
	keptOnly  bool
}

// Option configures NewProcessor.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithSlowThreshold sets how long a local root span may last before its trace is kept as slow
// (DefaultSlowThreshold). Zero or a negative duration keeps no trace for being slow.
func WithSlowThreshold(d time.Duration) Option {
	return optionFunc(func(c config) config {
		if d <= 0 {
			d = -1
		}
		c.slow = d
		return c
	})
}

// WithMaxSpansPerTrace caps the spans buffered for one trace in this process
// (DefaultMaxSpansPerTrace). Local root spans always fit; past the cap other spans are
// dropped, counted, and the kept trace's local root says how many (AttrDroppedSpans).
func WithMaxSpansPerTrace(n int) Option {
	return optionFunc(func(c config) config { c.maxSpans = n; return c })
}

// WithMaxAttributesPerSpan caps the attributes a buffered span keeps
// (DefaultMaxAttributesPerSpan); the rest count as the span's dropped attributes, as the SDK's
// own span limits count them.
func WithMaxAttributesPerSpan(n int) Option {
	return optionFunc(func(c config) config { c.maxAttrs = n; return c })
}

// WithMaxEventsPerSpan caps the events a buffered span keeps (DefaultMaxEventsPerSpan); the
// rest count as the span's dropped events.
func WithMaxEventsPerSpan(n int) Option {
	return optionFunc(func(c config) config { c.maxEvents = n; return c })
}

// WithMaxBytes caps the memory the processor's buffers hold, estimated from the spans' names,
// attributes and events (DefaultMaxBytes). Past it spans other than local roots are dropped and
// counted until kept or dropped traces free room.
func WithMaxBytes(n int64) Option {
	return optionFunc(func(c config) config { c.maxBytes = n; return c })
}

// WithMaxTraces caps the traces buffered at once (DefaultMaxTraces). A local root that starts
// past it is not buffered: its trace is exported only if sampled at the head.
func WithMaxTraces(n int) Option {
	return optionFunc(func(c config) config { c.maxTraces = n; return c })
}

// WithMeterProvider makes NewProcessor register its metrics (see RegisterMetrics) with mp for
// as long as the processor runs. ctxtrail.Install registers them with its own meter provider
// without this option.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c config) config { c.mp = mp; return c })
}

// WithoutSignal keeps the processor out of the keep signal: the HTTP and gRPC instrumentation
// neither asks it whether to tell a caller that the trace is kept nor tells it that a callee
// kept its part. Traces are then kept on this process's own spans alone.
func WithoutSignal() Option {
	return optionFunc(func(c config) config { c.noSignal = true; return c })
}

// WithKeptOnly hands the next processors only the spans of kept traces, for a Processor
// registered beside processors the tracer provider already runs (as ctxtrail.Install registers
// it beside its exporting pipelines): they see the head-sampled spans from the provider itself.
// The Processor then neither flushes nor shuts them down.
func WithKeptOnly() Option {
	return optionFunc(func(c config) config { c.keptOnly = true; return c })
}

func newConfig(opts []Option) config {
	c := config{slow: DefaultSlowThreshold, maxSpans: DefaultMaxSpansPerTrace,
		maxAttrs: DefaultMaxAttributesPerSpan, maxEvents: DefaultMaxEventsPerSpan,
		maxBytes: DefaultMaxBytes, maxTraces: DefaultMaxTraces}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.maxSpans < 1 {
		c.maxSpans = 1
	}
	c.maxAttrs, c.maxEvents = max(c.maxAttrs, 0), max(c.maxEvents, 0)
	if c.maxBytes < 0 {
		c.maxBytes = 0
	}
	if c.maxTraces < 1 {
		c.maxTraces = 1
	}
	return c
}
