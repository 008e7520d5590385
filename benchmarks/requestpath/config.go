package requestpath

import (
	"context"
	"io"
	"sync/atomic"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// QueueSize is the batch span processor's queue in every variant: large enough that an export
// goroutine starved by a loaded machine does not drop spans, which would flatter whichever
// variant drops most.
const QueueSize = 16384

// Option configures Start.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

type config struct {
	exporter sdktrace.SpanExporter
	logs     io.Writer
}

// WithExporter sets the span exporter behind the batch processor. The default is a
// DiscardExporter.
func WithExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c config) config { c.exporter = e; return c })
}

// WithLogWriter sets where the JSON log lines go; it must be safe for concurrent writes. The
// default is io.Discard.
func WithLogWriter(w io.Writer) Option {
	return optionFunc(func(c config) config { c.logs = w; return c })
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.exporter == nil {
		c.exporter = new(DiscardExporter)
	}
	if c.logs == nil {
		c.logs = io.Discard
	}
	return c
}

// jsonCore is the log core of every variant: zap's production JSON encoder at Info.
func (c config) jsonCore() zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(c.logs), zapcore.InfoLevel)
}

// DiscardExporter is a span exporter that counts the spans it is given and drops them.
type DiscardExporter struct{ spans atomic.Uint64 }

var _ sdktrace.SpanExporter = (*DiscardExporter)(nil)

// ExportSpans counts spans and drops them.
func (e *DiscardExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.spans.Add(uint64(len(spans)))
	return nil
}

// Shutdown does nothing.
func (e *DiscardExporter) Shutdown(context.Context) error { return nil }

// Spans returns how many spans were exported so far.
func (e *DiscardExporter) Spans() uint64 { return e.spans.Load() }

// discardLogExporter drops the OpenTelemetry log records the otelzap bridge emits.
type discardLogExporter struct{ records atomic.Uint64 }

var _ sdklog.Exporter = (*discardLogExporter)(nil)

func (e *discardLogExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.records.Add(uint64(len(rs)))
	return nil
}
func (e *discardLogExporter) Shutdown(context.Context) error   { return nil }
func (e *discardLogExporter) ForceFlush(context.Context) error { return nil }
