package spans

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RegisterMetrics publishes the monitor's counts as observable metrics of mp, read from Stats
// at each collection (so the request path pays nothing more):
//
//   - otel.sdk.span.started and otel.sdk.span.live, the OpenTelemetry SDK's self-observability
//     names, for the spans the monitor saw start and those still active;
//   - ctxtrail.span.started, ctxtrail.span.ended and ctxtrail.span.active by span.name and
//     span.kind (bounded by WithMaxNames: later names count under "(other)");
//   - ctxtrail.span.leaked, spans active past the leak threshold now, and
//     ctxtrail.span.leaks_reported, spans passed to the leak callback so far.
//
// ctxtrail.Install calls it for a Monitor given with ctxtrail.WithSpanProcessor. Each collection
// calls Stats once, which holds the active list for a moment (see Stats): keep the metric
// export interval in seconds, not milliseconds. Unregister the returned Registration to stop.
func (m *Monitor) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter("github.com/ctxtrail/ctxtrail/spans")
	started, err1 := meter.Int64ObservableCounter("otel.sdk.span.started", metric.WithUnit("{span}"),
		metric.WithDescription("Recording spans started."))
	live, err2 := meter.Int64ObservableUpDownCounter("otel.sdk.span.live", metric.WithUnit("{span}"),
		metric.WithDescription("Recording spans started and not yet ended."))
	byStarted, err3 := meter.Int64ObservableCounter("ctxtrail.span.started", metric.WithUnit("{span}"),
		metric.WithDescription("Spans started, by name and kind."))
	byEnded, err4 := meter.Int64ObservableCounter("ctxtrail.span.ended", metric.WithUnit("{span}"),
		metric.WithDescription("Spans ended, by name and kind."))
	byActive, err5 := meter.Int64ObservableUpDownCounter("ctxtrail.span.active", metric.WithUnit("{span}"),
		metric.WithDescription("Spans active now, by name and kind."))
	leaked, err6 := meter.Int64ObservableGauge("ctxtrail.span.leaked", metric.WithUnit("{span}"),
		metric.WithDescription("Spans active past the monitor's leak threshold now."))
	reported, err7 := meter.Int64ObservableCounter("ctxtrail.span.leaks_reported", metric.WithUnit("{span}"),
		metric.WithDescription("Spans passed to the leak callback so far."))
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
		if err != nil {
			return nil, err
		}
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := m.Stats()
		o.ObserveInt64(started, int64(st.Created))
		o.ObserveInt64(live, st.Active)
		for _, ns := range st.ByName {
			attrs := metric.WithAttributes(attribute.String("span.name", ns.Name), attribute.String("span.kind", ns.Kind.String()))
			o.ObserveInt64(byStarted, int64(ns.Created), attrs)
			o.ObserveInt64(byEnded, int64(ns.Ended), attrs)
			o.ObserveInt64(byActive, ns.Active, attrs)
		}
		o.ObserveInt64(leaked, int64(st.Leaks))
		o.ObserveInt64(reported, int64(st.LeaksReported))
		return nil
	}, started, live, byStarted, byEnded, byActive, leaked, reported)
}
