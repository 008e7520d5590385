package keep

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The caps a span can be dropped by, as the ctxtrail.keep.limit attribute spells them.
const (
	LimitSpansPerTrace = "spans_per_trace"
	LimitMemory        = "memory"
)

const (
	limitSpans = iota
	limitMemory
	limitCount
)

type counters struct {
	kept          [reasonCount]atomic.Uint64
	dropped       atomic.Uint64
	untracked     atomic.Uint64
	exported      atomic.Uint64
	droppedSpans  [limitCount]atomic.Uint64
	droppedAttrs  atomic.Uint64
	droppedEvents atomic.Uint64
	signals       atomic.Uint64
	badSignals    atomic.Uint64
}

// Stats is what a Processor has done so far, and what it holds now.
type Stats struct {
	KeptError, KeptSlow, KeptCallee uint64 // traces kept, by reason
	Dropped                         uint64 // traces dropped: nothing made them worth keeping
	Untracked                       uint64 // local roots not buffered: WithMaxTraces was reached
	Exported                        uint64 // spans handed on as kept (head-sampled spans not counted)

	DroppedSpansPerTrace uint64 // spans left out of a trace by WithMaxSpansPerTrace
	DroppedSpansMemory   uint64 // spans left out by WithMaxBytes
	DroppedAttributes    uint64 // attributes cut by WithMaxAttributesPerSpan
	DroppedEvents        uint64 // events cut by WithMaxEventsPerSpan

	Signals    uint64 // keep signals accepted from callees
	BadSignals uint64 // keep signals ignored for a bad value

	BufferedBytes  int64 // estimated bytes buffered now
	BufferedTraces int64 // traces buffered now
}

// Stats returns the processor's counts.
func (p *Processor) Stats() Stats {
	return Stats{
		KeptError: p.st.kept[reasonError].Load(), KeptSlow: p.st.kept[reasonSlow].Load(),
		KeptCallee: p.st.kept[reasonCallee].Load(), Dropped: p.st.dropped.Load(),
		Untracked: p.st.untracked.Load(), Exported: p.st.exported.Load(),
		DroppedSpansPerTrace: p.st.droppedSpans[limitSpans].Load(),
		DroppedSpansMemory:   p.st.droppedSpans[limitMemory].Load(),
		DroppedAttributes:    p.st.droppedAttrs.Load(), DroppedEvents: p.st.droppedEvents.Load(),
		Signals: p.st.signals.Load(), BadSignals: p.st.badSignals.Load(),
		BufferedBytes: p.bytes.Load(), BufferedTraces: p.traces.Load(),
	}
}

// RegisterMetrics publishes the processor's counts as observable metrics of mp, read at each
// collection (the request path pays nothing more):
//
//   - ctxtrail.keep.traces ({trace}): traces decided, by ctxtrail.keep.outcome (kept, dropped,
//     untracked) and, when kept, ctxtrail.keep.reason (error, slow, callee);
//   - ctxtrail.keep.spans.exported ({span}): spans handed on as kept;
//   - ctxtrail.keep.spans.dropped ({span}): spans left out of kept or undecided traces, by
//     ctxtrail.keep.limit (spans_per_trace, memory);
//   - ctxtrail.keep.attributes.dropped and ctxtrail.keep.events.dropped: cut by the per-span caps;
//   - ctxtrail.keep.signals ({signal}): keep signals from callees, by ctxtrail.keep.signal.valid;
//   - ctxtrail.keep.buffer.usage (By) and ctxtrail.keep.buffer.traces ({trace}): held now.
//
// ctxtrail.Install calls it with its meter provider. Unregister the returned Registration to stop.
func (p *Processor) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter("github.com/ctxtrail/ctxtrail/spans/keep")
	traces, err1 := meter.Int64ObservableCounter("ctxtrail.keep.traces", metric.WithUnit("{trace}"),
		metric.WithDescription("Head-unsampled traces decided by the in-process capture."))
	exported, err2 := meter.Int64ObservableCounter("ctxtrail.keep.spans.exported", metric.WithUnit("{span}"),
		metric.WithDescription("Spans of kept traces handed to the exporters."))
	dropped, err3 := meter.Int64ObservableCounter("ctxtrail.keep.spans.dropped", metric.WithUnit("{span}"),
		metric.WithDescription("Spans left out of a buffered trace by a cap."))
	attrs, err4 := meter.Int64ObservableCounter("ctxtrail.keep.attributes.dropped", metric.WithUnit("{attribute}"),
		metric.WithDescription("Attributes cut from buffered spans by the per-span cap."))
	events, err5 := meter.Int64ObservableCounter("ctxtrail.keep.events.dropped", metric.WithUnit("{event}"),
		metric.WithDescription("Events cut from buffered spans by the per-span cap."))
	signals, err6 := meter.Int64ObservableCounter("ctxtrail.keep.signals", metric.WithUnit("{signal}"),
		metric.WithDescription("Keep signals received from callees."))
	usage, err7 := meter.Int64ObservableUpDownCounter("ctxtrail.keep.buffer.usage", metric.WithUnit("By"),
		metric.WithDescription("Estimated bytes of spans buffered now."))
	held, err8 := meter.Int64ObservableUpDownCounter("ctxtrail.keep.buffer.traces", metric.WithUnit("{trace}"),
		metric.WithDescription("Traces buffered now."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7, err8); err != nil {
		return nil, err
	}
	kept := attribute.String("ctxtrail.keep.outcome", "kept")
	outDropped := metric.WithAttributes(attribute.String("ctxtrail.keep.outcome", "dropped"))
	outUntracked := metric.WithAttributes(attribute.String("ctxtrail.keep.outcome", "untracked"))
	valid := metric.WithAttributes(attribute.Bool("ctxtrail.keep.signal.valid", true))
	invalid := metric.WithAttributes(attribute.Bool("ctxtrail.keep.signal.valid", false))
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		for r, n := range [...]uint64{reasonError: st.KeptError, reasonSlow: st.KeptSlow, reasonCallee: st.KeptCallee} {
			if r != int(reasonNone) {
				o.ObserveInt64(traces, int64(n), metric.WithAttributes(kept, attribute.String(AttrReason, reasonNames[r])))
			}
		}
		o.ObserveInt64(traces, int64(st.Dropped), outDropped)
		o.ObserveInt64(traces, int64(st.Untracked), outUntracked)
		o.ObserveInt64(exported, int64(st.Exported))
		o.ObserveInt64(dropped, int64(st.DroppedSpansPerTrace), metric.WithAttributes(attribute.String("ctxtrail.keep.limit", LimitSpansPerTrace)))
		o.ObserveInt64(dropped, int64(st.DroppedSpansMemory), metric.WithAttributes(attribute.String("ctxtrail.keep.limit", LimitMemory)))
		o.ObserveInt64(attrs, int64(st.DroppedAttributes))
		o.ObserveInt64(events, int64(st.DroppedEvents))
		o.ObserveInt64(signals, int64(st.Signals), valid)
		o.ObserveInt64(signals, int64(st.BadSignals), invalid)
		o.ObserveInt64(usage, st.BufferedBytes)
		o.ObserveInt64(held, st.BufferedTraces)
		return nil
	}, traces, exported, dropped, attrs, events, signals, usage, held)
}
