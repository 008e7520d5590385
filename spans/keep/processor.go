package keep

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/keepsignal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attributes the Processor sets on the local root spans of a kept trace, and the one the HTTP
// and gRPC instrumentation set on a client span whose callee kept its part.
const (
	AttrReason       = "ctxtrail.keep.reason"        // error, slow or callee
	AttrTruncated    = "ctxtrail.keep.truncated"     // true when spans, attributes or events did not fit
	AttrDroppedSpans = "ctxtrail.keep.dropped_spans" // spans of this trace left out by a cap
	AttrCalleeKept   = keepsignal.AttrCalleeKept     // on a client span: the callee kept its part
)

// Reasons, as AttrReason spells them.
const (
	ReasonError  = "error"
	ReasonSlow   = "slow"
	ReasonCallee = "callee"
)

type reason uint8

const (
	reasonNone reason = iota
	reasonError
	reasonSlow
	reasonCallee
	reasonCount
)

var reasonNames = [reasonCount]string{"", ReasonError, ReasonSlow, ReasonCallee}

// Processor buffers the spans of head-unsampled traces (recorded because Sampler turned the
// head's Drop into RecordOnly) per trace, and decides when a local root span ends: a trace in
// which a span ended in error, whose local root lasted at least the slow threshold, or whose
// callee said in its response that it kept its part, is handed whole to the next processors
// with the sampled flag set, as if the head had sampled it; any other is dropped. Sampled spans
// pass straight through. Buffers are bounded per trace and per processor (see the options).
//
// The next processors see OnEnd for the spans handed on, and OnStart only for spans sampled at
// the head (WithKeptOnly: only the kept spans' OnEnd). Shut the Processor down (the tracer provider does, when the Processor is
// registered with it) to shut them down.
type Processor struct {
	next   []sdktrace.SpanProcessor
	cfg    config
	shards [shardCount]shard
	bytes  atomic.Int64
	traces atomic.Int64
	recent recentKept
	st     counters

	unregister func()
	reg        metric.Registration
	stopped    atomic.Bool
	once       sync.Once
	err        error
}

var (
	_ sdktrace.SpanProcessor = (*Processor)(nil)
	_ keepsignal.Decider     = (*Processor)(nil)
)

const shardCount = 64

type shard struct {
	mu sync.Mutex
	m  map[trace.TraceID]*entry
}

type openRoot struct {
	id    trace.SpanID
	start time.Time
}

// entry is one trace's part in this process, from its first local root's start to its last
// local root's end.
type entry struct {
	roots   []openRoot     // local roots still open
	clients []trace.SpanID // client spans started (up to maxSpans), for the keep signal
	spans   []held
	bytes   int64
	reason  reason
	dropped int  // spans left out by a cap
	cut     bool // a span lost attributes or events to a cap
	flushed bool // handed on already: later spans go straight through

	// The first of each, in the entry's own allocation: a request's few spans cost nothing more.
	rootsBuf   [1]openRoot
	clientsBuf [2]trace.SpanID
	spansBuf   [8]held
}

func newEntry() *entry {
	e := new(entry)
	e.roots, e.clients, e.spans = e.rootsBuf[:0], e.clientsBuf[:0], e.spansBuf[:0]
	return e
}

// NewProcessor returns a Processor that hands kept spans to next, in order (usually the batch
// processors of the exporters). Register it with the tracer provider in place of them, and use
// Sampler around the provider's sampler:
//
//	bsp := sdktrace.NewBatchSpanProcessor(exporter)
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithSampler(keep.Sampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))),
//		sdktrace.WithSpanProcessor(keep.NewProcessor([]sdktrace.SpanProcessor{bsp})))
//
// Until it is shut down the Processor takes part in the keep signal (see the package
// documentation) unless WithoutSignal.
func NewProcessor(next []sdktrace.SpanProcessor, opts ...Option) *Processor {
	p := &Processor{cfg: newConfig(opts)}
	for _, n := range next {
		if n != nil {
			p.next = append(p.next, n)
		}
	}
	for i := range p.shards {
		p.shards[i].m = make(map[trace.TraceID]*entry)
	}
	p.recent.init(recentSize)
	if p.cfg.mp != nil {
		reg, err := p.RegisterMetrics(p.cfg.mp)
		if err != nil {
			otel.Handle(err)
		}
		p.reg = reg
	}
	if !p.cfg.noSignal {
		p.unregister = keepsignal.Register(p)
	}
	return p
}

func (p *Processor) shard(id trace.TraceID) *shard {
	return &p.shards[id[15]%shardCount] // the low bits are random in a W3C trace ID
}

// OnStart notes local roots (a span with no parent or a remote one) and client spans of
// unsampled traces, and passes sampled spans on.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	sc := s.SpanContext()
	if sc.IsSampled() {
		if !p.cfg.keptOnly {
			for _, n := range p.next {
				n.OnStart(parent, s)
			}
		}
		return
	}
	if p.stopped.Load() {
		return
	}
	root := isLocalRoot(s)
	client := !root && s.SpanKind() == trace.SpanKindClient
	if !root && !client {
		return
	}
	sh := p.shard(sc.TraceID())
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[sc.TraceID()]
	if client {
		if e != nil && !e.flushed && len(e.clients) < p.cfg.maxSpans {
			e.clients = append(e.clients, sc.SpanID())
		}
		return
	}
	if e == nil {
		if p.traces.Load() >= int64(p.cfg.maxTraces) {
			p.st.untracked.Add(1)
			return
		}
		e = newEntry()
		sh.m[sc.TraceID()] = e
		p.traces.Add(1)
	}
	e.roots = append(e.roots, openRoot{sc.SpanID(), s.StartTime()})
}

func isLocalRoot(s sdktrace.ReadOnlySpan) bool {
	ps := s.Parent()
	return !ps.IsValid() || ps.IsRemote()
}

// OnEnd buffers a span of an unsampled trace, and decides the trace when a local root ends.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	if sc.IsSampled() {
		if !p.cfg.keptOnly {
			for _, n := range p.next {
				n.OnEnd(s)
			}
		}
		return
	}
	if p.stopped.Load() {
		return
	}
	tid := sc.TraceID()
	root := isLocalRoot(s)
	h := p.hold(s, root)
	sh := p.shard(tid)
	sh.mu.Lock()
	e := sh.m[tid]
	if e == nil {
		sh.mu.Unlock()
		if p.recent.has(tid) { // a late span of a trace kept already
			p.handOn([]held{h}, reasonNone, 0, false)
		}
		return
	}
	if e.flushed {
		if root {
			p.endRoot(sh, tid, e, sc.SpanID())
		}
		sh.mu.Unlock()
		p.handOn([]held{h}, reasonNone, 0, false)
		return
	}
	if e.reason == reasonNone {
		switch {
		case s.Status().Code == codes.Error:
			e.reason = reasonError
		case h.calleeKept:
			e.reason = reasonCallee
		case root && p.cfg.slow > 0 && s.EndTime().Sub(s.StartTime()) >= p.cfg.slow:
			e.reason = reasonSlow
		}
	}
	e.cut = e.cut || h.cut
	switch {
	case root: // a local root always fits: without it the trace has no top
		p.admit(e, h)
	case len(e.spans) >= p.cfg.maxSpans:
		e.dropped++
		p.st.droppedSpans[limitSpans].Add(1)
	case p.bytes.Load()+h.size > p.cfg.maxBytes:
		e.dropped++
		p.st.droppedSpans[limitMemory].Add(1)
	default:
		p.admit(e, h)
	}
	if !root {
		sh.mu.Unlock()
		return
	}
	var out []held
	why, dropped, cut := e.reason, e.dropped, e.cut
	if why != reasonNone {
		out = e.spans
		e.spans, e.flushed = nil, true
		p.release(e)
		p.st.kept[why].Add(1)
	}
	last := p.endRoot(sh, tid, e, sc.SpanID())
	if last && why == reasonNone {
		p.release(e)
		e.spans = nil
		p.st.dropped.Add(1)
	}
	sh.mu.Unlock()
	p.handOn(out, why, dropped, cut)
}

// endRoot removes a local root from e, and e from the shard when it was the last; the caller
// holds sh.mu. It reports whether e is gone.
func (p *Processor) endRoot(sh *shard, tid trace.TraceID, e *entry, id trace.SpanID) bool {
	for i, r := range e.roots {
		if r.id == id {
			e.roots = append(e.roots[:i], e.roots[i+1:]...)
			break
		}
	}
	if len(e.roots) > 0 {
		return false
	}
	delete(sh.m, tid)
	p.traces.Add(-1)
	if e.flushed {
		p.recent.add(tid)
	}
	return true
}

func (p *Processor) admit(e *entry, h held) {
	e.spans = append(e.spans, h)
	e.bytes += h.size
	p.bytes.Add(h.size)
}

func (p *Processor) release(e *entry) {
	p.bytes.Add(-e.bytes)
	e.bytes = 0
}

// handOn gives the kept spans to the next processors, marking the local roots with why the
// trace was kept and what did not fit.
func (p *Processor) handOn(spans []held, why reason, dropped int, cut bool) {
	for _, h := range spans {
		ks := p.kept(h)
		if h.root && why != reasonNone {
			ks.attrs = append(ks.attrs[:len(ks.attrs):len(ks.attrs)], attribute.String(AttrReason, reasonNames[why]))
			if cut || dropped > 0 {
				ks.attrs = append(ks.attrs, attribute.Bool(AttrTruncated, true), attribute.Int(AttrDroppedSpans, dropped))
			}
		}
		for _, n := range p.next {
			n.OnEnd(ks)
		}
	}
	p.st.exported.Add(uint64(len(spans)))
}

// Respond implements keepsignal.Decider: sc is a server span about to respond.
func (p *Processor) Respond(sc trace.SpanContext, failed bool) bool {
	if p.stopped.Load() {
		return false
	}
	sh := p.shard(sc.TraceID())
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[sc.TraceID()]
	if e == nil {
		return false
	}
	var start time.Time
	found := false
	for _, r := range e.roots {
		if r.id == sc.SpanID() {
			start, found = r.start, true
			break
		}
	}
	if !found {
		return false // not a local root of this processor's
	}
	if e.flushed {
		return true
	}
	if e.reason == reasonNone {
		switch {
		case failed:
			e.reason = reasonError
		case p.cfg.slow > 0 && time.Since(start) >= p.cfg.slow:
			e.reason = reasonSlow
		}
	}
	return e.reason != reasonNone
}

// CalleeKept implements keepsignal.Decider: the callee of the client span sc kept its part.
func (p *Processor) CalleeKept(sc trace.SpanContext) {
	if p.stopped.Load() {
		return
	}
	sh := p.shard(sc.TraceID())
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[sc.TraceID()]
	if e == nil {
		return
	}
	for _, id := range e.clients {
		if id == sc.SpanID() {
			p.st.signals.Add(1)
			if e.reason == reasonNone {
				e.reason = reasonCallee
			}
			return
		}
	}
}

// BadSignal implements keepsignal.Decider.
func (p *Processor) BadSignal() { p.st.badSignals.Add(1) }

// ForceFlush flushes the next processors. Traces still undecided stay buffered: they are
// decided when their local roots end.
func (p *Processor) ForceFlush(ctx context.Context) error {
	if p.cfg.keptOnly {
		return nil
	}
	var errs []error
	for _, n := range p.next {
		errs = append(errs, n.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown drops the traces still undecided, leaves the keep signal, unregisters the metrics
// and shuts the next processors down.
func (p *Processor) Shutdown(ctx context.Context) error {
	p.once.Do(func() {
		p.stopped.Store(true)
		if p.unregister != nil {
			p.unregister()
		}
		var errs []error
		if p.reg != nil {
			errs = append(errs, p.reg.Unregister())
		}
		for i := range p.shards {
			sh := &p.shards[i]
			sh.mu.Lock()
			for tid, e := range sh.m {
				p.release(e)
				delete(sh.m, tid)
				p.traces.Add(-1)
			}
			sh.mu.Unlock()
		}
		for _, n := range p.next {
			if !p.cfg.keptOnly {
				errs = append(errs, n.Shutdown(ctx))
			}
		}
		p.err = errors.Join(errs...)
	})
	return p.err
}
