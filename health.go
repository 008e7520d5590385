package ctxtrail

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/exportstats"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// This file publishes ctxtrail's own health as metrics: observable instruments whose callbacks
// read counters that exist anyway (Provider.Stats, Provider.LogStats, the WarnLimiters' counts),
// so the request path pays nothing for them. The names are the OpenTelemetry SDK's
// self-observability names where the conventions have one (otel.sdk.*), ctxtrail.* otherwise.

// MetricsRegisterer is implemented by span processors that publish metrics of their own, such as
// spans.Monitor: Install registers every processor given with WithSpanProcessor that implements
// it with its MeterProvider.
type MetricsRegisterer interface {
	RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error)
}

var (
	compSpanProcessor = semconv.OTelComponentTypeKey.String("batching_span_processor")
	compLogProcessor  = semconv.OTelComponentTypeKey.String("batching_log_processor")
	errQueueFull      = semconv.ErrorTypeKey.String("queue_full")
	errExportFailed   = semconv.ErrorTypeKey.String("_OTHER")
)

// registerHealth registers the pipeline instruments of p with its meter provider.
func registerHealth(p *Provider, processors []any) error {
	m := p.metrics.mp.Meter(httpctx.ScopeName)
	spanProcessed, err1 := m.Int64ObservableCounter("otel.sdk.processor.span.processed", metric.WithUnit("{span}"),
		metric.WithDescription("Spans the exporting processors handled: passed on, or dropped (error.type=queue_full)."))
	spanQueue, err2 := m.Int64ObservableUpDownCounter("otel.sdk.processor.span.queue.size", metric.WithUnit("{span}"),
		metric.WithDescription("Spans waiting in the export queues or being exported."))
	spanCap, err3 := m.Int64ObservableUpDownCounter("otel.sdk.processor.span.queue.capacity", metric.WithUnit("{span}"),
		metric.WithDescription("How many spans the export queues hold at most."))
	spanExported, err4 := m.Int64ObservableCounter("otel.sdk.exporter.span.exported", metric.WithUnit("{span}"),
		metric.WithDescription("Spans the exporters sent: accepted, or carried by a failed export (error.type set)."))
	logProcessed, err5 := m.Int64ObservableCounter("otel.sdk.processor.log.processed", metric.WithUnit("{log_record}"),
		metric.WithDescription("Log records the exporting processors handled: passed on, or dropped (error.type=queue_full)."))
	logQueue, err6 := m.Int64ObservableUpDownCounter("otel.sdk.processor.log.queue.size", metric.WithUnit("{log_record}"),
		metric.WithDescription("Log records waiting in the export queues or being exported."))
	logExported, err7 := m.Int64ObservableCounter("otel.sdk.exporter.log.exported", metric.WithUnit("{log_record}"),
		metric.WithDescription("Log records the exporters sent: accepted, or carried by a failed export (error.type set)."))
	var capacity int64
	for _, pl := range p.pipelines {
		capacity += pl.limit
	}
	ok := metric.WithAttributes(compSpanProcessor)
	full := metric.WithAttributes(compSpanProcessor, errQueueFull)
	failed := metric.WithAttributes(compSpanProcessor, errExportFailed)
	lok := metric.WithAttributes(compLogProcessor)
	lfull := metric.WithAttributes(compLogProcessor, errQueueFull)
	lfailed := metric.WithAttributes(compLogProcessor, errExportFailed)
	reg, err8 := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := p.Stats()
		o.ObserveInt64(spanProcessed, int64(s.Ended-s.Dropped), ok)
		o.ObserveInt64(spanProcessed, int64(s.Dropped), full)
		o.ObserveInt64(spanQueue, int64(s.Queued), ok)
		if capacity > 0 {
			o.ObserveInt64(spanCap, capacity, ok)
		}
		o.ObserveInt64(spanExported, int64(s.Exported), ok)
		o.ObserveInt64(spanExported, int64(s.Failed), failed)
		if p.logs != nil {
			ls := p.LogStats()
			o.ObserveInt64(logProcessed, int64(ls.Emitted-ls.Dropped), lok)
			o.ObserveInt64(logProcessed, int64(ls.Dropped), lfull)
			o.ObserveInt64(logQueue, int64(ls.Queued), lok)
			o.ObserveInt64(logExported, int64(ls.Exported), lok)
			o.ObserveInt64(logExported, int64(ls.Failed), lfailed)
		}
		return nil
	}, spanProcessed, spanQueue, spanCap, spanExported, logProcessed, logQueue, logExported)
	p.keep(reg)
	// The Provider's own WarnLimiter: handlers given WithProvider(p) count into it.
	reg, err9 := p.headerWarn.RegisterMetrics(p.metrics.mp)
	p.keep(reg)
	errs := []error{err1, err2, err3, err4, err5, err6, err7, err8, err9}
	for _, sp := range processors {
		if r, ok := sp.(MetricsRegisterer); ok {
			reg, err := r.RegisterMetrics(p.metrics.mp)
			p.keep(reg)
			errs = append(errs, err)
		}
		// spans.Monitor shows what became of the ended spans; spans.ExportStats is exportstats.Stats.
		if r, ok := sp.(interface {
			SetExportStats(func() exportstats.Stats)
		}); ok {
			r.SetExportStats(func() exportstats.Stats { return exportstats.Stats(p.Stats()) })
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// keep holds a registration Install made until Shutdown releases it (unregisterMetrics).
func (p *Provider) keep(reg metric.Registration) {
	if reg != nil {
		p.registrations = append(p.registrations, reg)
	}
}

// unregisterMetrics releases what Install registered, once the last metrics are exported: the
// callbacks read the Provider's counters and limiter, and nothing should keep those reachable
// from a meter provider after the Provider is gone.
func (p *Provider) unregisterMetrics() {
	for _, reg := range p.registrations {
		_ = reg.Unregister()
	}
	p.registrations = nil
}

func processorsOf(cfg config) []any {
	out := make([]any, 0, len(cfg.processors))
	for _, sp := range cfg.processors {
		if sp != nil {
			out = append(out, sp)
		}
	}
	return out
}
