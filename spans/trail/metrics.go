package trail

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
)

// crumbsDropped counts the breadcrumbs every trail's caps dropped, process-wide; it is touched
// only when a crumb is dropped.
var crumbsDropped atomic.Uint64

// BreadcrumbsDropped returns how many breadcrumbs the trails' count and byte caps have dropped
// in this process.
func BreadcrumbsDropped() uint64 { return crumbsDropped.Load() }

// RegisterMetrics publishes the trail's losses as observable metrics of mp:
// ctxtrail.trail.breadcrumbs.dropped (process-wide) and, for each sink given,
// ctxtrail.trail.reports.dropped (reports the LogSink's queue refused). Unregister the returned
// Registration to stop.
func RegisterMetrics(mp metric.MeterProvider, sinks ...*LogSink) (metric.Registration, error) {
	m := mp.Meter("github.com/ctxtrail/ctxtrail/spans/trail")
	crumbs, err := m.Int64ObservableCounter("ctxtrail.trail.breadcrumbs.dropped", metric.WithUnit("{breadcrumb}"),
		metric.WithDescription("Breadcrumbs dropped by the trails' count and byte caps."))
	if err != nil {
		return nil, err
	}
	reports, err := m.Int64ObservableCounter("ctxtrail.trail.reports.dropped", metric.WithUnit("{report}"),
		metric.WithDescription("Error reports dropped because the sink's queue was full or it had shut down."))
	if err != nil {
		return nil, err
	}
	sinks = append([]*LogSink(nil), sinks...)
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(crumbs, int64(crumbsDropped.Load()))
		var n uint64
		for _, s := range sinks {
			if s != nil {
				n += s.Dropped()
			}
		}
		o.ObserveInt64(reports, int64(n))
		return nil
	}, crumbs, reports)
}
