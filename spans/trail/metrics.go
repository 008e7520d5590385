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

// DropCounter is a sink that counts the reports it has dropped, such as trailzap.LogSink:
// RegisterMetrics publishes the count.
type DropCounter interface {
	Dropped() uint64
}

// RegisterMetrics publishes the trail's losses as observable metrics of mp:
// ctxtrail.trail.breadcrumbs.dropped (process-wide) and ctxtrail.trail.reports.dropped, the sum
// of the sinks' Dropped counts (zero when no sink is given; nil sinks are skipped). Unregister
// the returned Registration to stop.
func RegisterMetrics(mp metric.MeterProvider, sinks ...DropCounter) (metric.Registration, error) {
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
	sinks = append([]DropCounter(nil), sinks...)
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
