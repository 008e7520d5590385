package evidence

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Snapshot is what a Recorder has found, ready for JSON (the monitor page shows it).
type Snapshot struct {
	Labels     bool `json:"labels"`
	LeftBehind bool `json:"left_behind_armed"`
	Flight     bool `json:"flight_recorder"`

	// Routes are the routes whose goroutines were left behind, most first; a route once seen
	// stays, with count 0 when its goroutines have exited.
	Routes       []LeftBehind  `json:"left_behind,omitempty"`
	Census       *CensusStats  `json:"census,omitempty"`
	Captures     []CaptureInfo `json:"captures,omitempty"` // newest first
	CaptureStats *CaptureStats `json:"capture_stats,omitempty"`
}

// Snapshot returns a copy of what the Recorder has found so far.
func (r *Recorder) Snapshot() Snapshot {
	var s Snapshot
	if r == nil {
		return s
	}
	s.Labels, s.LeftBehind, s.Flight = r.Armed()
	if r.census != nil {
		routes, st := r.census.snapshot()
		s.Routes, s.Census = routes, &st
	}
	if r.flight != nil {
		caps, st := r.flight.snapshot()
		s.Captures, s.CaptureStats = caps, &st
	}
	return s
}

// CensusNow takes a census at once, off the schedule (for tests and the demo, which cannot wait
// for the interval); it does nothing when the census is not armed.
func (r *Recorder) CensusNow() {
	if r != nil && r.census != nil {
		r.census.round()
	}
}

// RegisterMetrics publishes the evidence on mp: ctxtrail.goroutine.left_behind and
// ctxtrail.goroutine.leaked (gauges, attribute route) from the census, and
// ctxtrail.evidence.captures (attribute outcome: taken, over_budget, too_large, busy, failed)
// from the flight recorder, and ctxtrail.evidence.held_spans (attribute outcome: attached,
// timed_out, overflow, shutdown) from its export hold (WrapProcessor). Unregister the returned Registration when done.
func (r *Recorder) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter("github.com/ctxtrail/ctxtrail/spans/evidence")
	left, err := meter.Int64ObservableGauge("ctxtrail.goroutine.left_behind", metric.WithUnit("{goroutine}"),
		metric.WithDescription("Goroutines still carrying the pprof labels of a finished request, by route."))
	if err != nil {
		return nil, err
	}
	leaked, err := meter.Int64ObservableGauge("ctxtrail.goroutine.leaked", metric.WithUnit("{goroutine}"),
		metric.WithDescription("Goroutines the runtime's goroutineleak profile found blocked forever, by route of the request that started them."))
	if err != nil {
		return nil, err
	}
	captures, err := meter.Int64ObservableCounter("ctxtrail.evidence.captures", metric.WithUnit("{capture}"),
		metric.WithDescription("Flight recorder captures asked for by slow or failed requests, by outcome."))
	if err != nil {
		return nil, err
	}
	held, err := meter.Int64ObservableCounter("ctxtrail.evidence.held_spans", metric.WithUnit("{span}"),
		metric.WithDescription("Captured requests' server spans whose export was held for the breakdown, by outcome: exported with it (attached), or without it past the wait (timed_out), past the count held (overflow), or at shutdown."))
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if r.census != nil {
			routes, _ := r.census.snapshot()
			for _, lb := range routes {
				set := metric.WithAttributeSet(attribute.NewSet(attribute.String("route", lb.Route)))
				o.ObserveInt64(left, int64(lb.Count), set)
				o.ObserveInt64(leaked, int64(lb.Leaked), set)
			}
		}
		if r.flight != nil {
			st := r.flight.counts()
			for _, oc := range []struct {
				name string
				n    int64
			}{{"taken", st.Taken}, {"over_budget", st.OverBudget}, {"too_large", st.TooLarge}, {"busy", st.Busy}, {"failed", st.Failed}} {
				o.ObserveInt64(captures, oc.n, metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", oc.name))))
			}
			for _, oc := range []struct {
				name string
				n    int64
			}{{"attached", st.HeldAttached}, {"timed_out", st.HeldTimedOut}, {"overflow", st.HeldOverflow}, {"shutdown", st.HeldShutdown}} {
				o.ObserveInt64(held, oc.n, metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", oc.name))))
			}
		}
		return nil
	}, left, leaked, captures, held)
}
