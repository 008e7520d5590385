package evidence

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// Defaults of the export hold (WithSpanHold).
const (
	DefaultHoldSpans = 32
	DefaultHoldWait  = 2 * time.Second
)

// maxAwaiting bounds the captures the hold tracks at once (queued, being read, or read and
// waiting for their span); past it a capture's breakdown goes on the child span instead.
const maxAwaiting = 256

// WithSpanHold bounds the export hold (WrapProcessor): at most maxSpans server spans held at
// once, each for at most wait (zero: DefaultHoldSpans, DefaultHoldWait). A captured span past
// either bound is exported without the breakdown, counted, and the breakdown follows on the
// "runtime evidence" child span.
func WithSpanHold(maxSpans int, wait time.Duration) Option {
	return optionFunc(func(c config) config {
		if maxSpans < 0 || wait < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithSpanHold(%d, %v): want a count and a wait >= 0 (0 for the defaults)", ErrConfig, maxSpans, wait))
			return c
		}
		c.holdMax, c.holdWait = maxSpans, wait
		return c
	})
}

// WrapProcessor returns a span processor that hands next every span as it ends, except the
// server span of a request whose capture is being read: that span's export is held (the span
// itself has ended and the response has gone) until the capture's breakdown is known, and next
// then gets the span with the breakdown among its attributes (AttrRunningMs and the rest, beside
// AttrCaptureID). At most WithSpanHold's count are held, each at most its wait; past either the
// span goes on unchanged, counted in CaptureStats, and the breakdown follows on a
// "runtime evidence" child span. OnEnd never blocks; spans not sampled are never held.
//
// Wrap the processors that export (the batch span processors):
//
//	sdktrace.WithSpanProcessor(rec.WrapProcessor(sdktrace.NewBatchSpanProcessor(exp)))
//
// ctxtrail.WithSpanExportHold(rec) does it for Install's pipelines. Shutdown waits for the
// captures of the spans held (at most the wait, and at most half the time ctx leaves), sends
// the rest unchanged, then shuts next down; ForceFlush waits for them, then flushes next.
// Without the flight recorder armed it returns next.
func (r *Recorder) WrapProcessor(next sdktrace.SpanProcessor) sdktrace.SpanProcessor {
	if r == nil || r.flight == nil || next == nil {
		return next
	}
	r.flight.hold.armed.Store(true)
	return &holdProcessor{h: &r.flight.hold, next: next}
}

type heldKey struct {
	t oteltrace.TraceID
	s oteltrace.SpanID
}

func keyOf(sc oteltrace.SpanContext) heldKey { return heldKey{sc.TraceID(), sc.SpanID()} }

// hold is the flight recorder's side of the export hold: the captures awaiting their breakdown,
// by server span, and the spans held for them.
type hold struct {
	f       *flight
	armed   atomic.Bool  // a WrapProcessor exists: track captures
	n       atomic.Int64 // len(m), read without the lock on every span's end
	max     int
	wait    time.Duration
	mu      sync.Mutex
	m       map[heldKey]*awaiting
	held    int // spans held now, all processors
	stopped bool
	st      holdStats
}

type holdStats struct{ attached, timedOut, overflow, shutdown int64 }

// awaiting is one capture, from the request's end until wait after its breakdown is known.
type awaiting struct {
	p         *pending
	done      bool
	attrs     []attribute.KeyValue // the breakdown; nil when the capture failed
	b         Breakdown
	info      CaptureInfo
	held      []heldSpan
	delivered bool // a span went out with the breakdown
	missed    bool // a span went out without it (past a bound, or at shutdown)
	timer     *time.Timer
	gen       int // which timer is current
}

type heldSpan struct {
	ro sdktrace.ReadOnlySpan
	w  *holdProcessor
}

// track starts awaiting p's capture; called under f.mu before p is queued, so the worker cannot
// finish it first.
func (h *hold) track(p *pending) bool {
	if !h.armed.Load() || !p.sc.IsValid() {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || len(h.m) >= maxAwaiting {
		return false
	}
	if h.m == nil {
		h.m = make(map[heldKey]*awaiting)
	}
	h.m[keyOf(p.sc)] = &awaiting{p: p}
	h.n.Store(int64(len(h.m)))
	return true
}

// untrack forgets a capture that was not queued after all.
func (h *hold) untrack(p *pending) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := keyOf(p.sc)
	if a := h.m[k]; a != nil && a.p == p {
		h.remove(k, a)
	}
}

// remove deletes an entry; h.mu is held.
func (h *hold) remove(k heldKey, a *awaiting) {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.gen++
	delete(h.m, k)
	h.n.Store(int64(len(h.m)))
}

// arm (re)starts a's timer: wait from now, for the held spans of a capture still being read or
// for the late span of one already read. h.mu is held.
func (h *hold) arm(k heldKey, a *awaiting) {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.gen++
	gen := a.gen
	a.timer = time.AfterFunc(h.wait, func() { h.fire(k, a, gen) })
}

// release takes a's held spans out of it, to be handed on (hand) once h.mu is released; h.mu
// is held. They stay counted as held until hand has passed them on, so that a Shutdown waiting
// for its processor's spans does not stop next before they reach it.
func (h *hold) release(a *awaiting) []heldSpan {
	held := a.held
	a.held = nil
	return held
}

// hand passes held spans on, with attrs added when there are any, then stops counting them.
func (h *hold) hand(held []heldSpan, attrs []attribute.KeyValue) {
	if len(held) == 0 {
		return
	}
	send(held, attrs)
	h.mu.Lock()
	h.held -= len(held)
	for _, hs := range held {
		hs.w.held--
		if hs.w.held == 0 && hs.w.idle != nil {
			close(hs.w.idle)
			hs.w.idle = nil
		}
	}
	h.mu.Unlock()
}

// fire is a's timer: a capture still being read lets its held spans go without the breakdown;
// a capture read, with no span left to come, is forgotten (with the child span if no span
// carried the breakdown).
func (h *hold) fire(k heldKey, a *awaiting, gen int) {
	h.mu.Lock()
	if a.gen != gen || h.m[k] != a {
		h.mu.Unlock()
		return
	}
	if !a.done {
		held := h.release(a)
		if len(held) > 0 {
			a.missed = true
			h.st.timedOut += int64(len(held))
		}
		h.mu.Unlock()
		h.hand(held, nil)
		return
	}
	h.remove(k, a)
	child := a.attrs != nil && !a.delivered && !a.missed
	h.mu.Unlock()
	if child {
		h.f.evidenceSpan(a.p, a.info, a.b)
	}
}

// done is the worker's report of p's capture: the held spans go on with the breakdown (b, when
// err is nil), and the child span is made when the breakdown reached no server span.
func (h *hold) done(p *pending, info CaptureInfo, b Breakdown, ok bool) {
	k := keyOf(p.sc)
	h.mu.Lock()
	a := h.m[k]
	if a == nil || a.p != p {
		h.mu.Unlock()
		if ok {
			h.f.evidenceSpan(p, info, b)
		}
		return
	}
	a.done, a.info, a.b = true, info, b
	if ok {
		a.attrs = breakdownAttrs(b)
	}
	held := h.release(a)
	if len(held) > 0 && ok {
		a.delivered = true
		h.st.attached += int64(len(held))
	}
	child := ok && a.missed
	if h.stopped {
		h.remove(k, a)
	} else {
		h.arm(k, a) // for a span still to come (a second wrapped provider, a span kept later)
	}
	h.mu.Unlock()
	h.hand(held, a.attrs)
	if child {
		h.f.evidenceSpan(p, info, b)
	}
}

// stop lets every held span go unchanged and forgets every capture: the worker has stopped.
func (h *hold) stop() {
	h.mu.Lock()
	h.stopped = true
	var out []heldSpan
	for k, a := range h.m {
		held := h.release(a)
		h.st.shutdown += int64(len(held))
		out = append(out, held...)
		h.remove(k, a)
	}
	h.mu.Unlock()
	h.hand(out, nil)
}

func (h *hold) stats(st *CaptureStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.HeldNow = int64(h.held)
	st.HeldAttached, st.HeldTimedOut = h.st.attached, h.st.timedOut
	st.HeldOverflow, st.HeldShutdown = h.st.overflow, h.st.shutdown
}

// send hands each held span to its processor's next, with attrs added when there are any.
func send(held []heldSpan, attrs []attribute.KeyValue) {
	for _, hs := range held {
		if attrs == nil {
			hs.w.next.OnEnd(hs.ro)
		} else {
			hs.w.next.OnEnd(withEvidence(hs.ro, attrs))
		}
	}
}

func breakdownAttrs(b Breakdown) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Float64(AttrRunningMs, b.RunningMs),
		attribute.Float64(AttrRunnableMs, b.RunnableMs),
		attribute.Float64(AttrBlockedMs, b.BlockedMs),
		attribute.Float64(AttrSyscallMs, b.SyscallMs),
		attribute.Float64(AttrGCAssistMs, b.GCAssistMs),
		attribute.Float64(AttrOtherMs, b.OtherMs),
		attribute.Int(AttrGoroutines, b.Goroutines),
	}
}

// evidencedSpan is a held span as the exporters see it: the span as it ended, with the
// breakdown after its own attributes (as spans/keep's keptSpan changes only what it overrides).
type evidencedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (e *evidencedSpan) Attributes() []attribute.KeyValue { return e.attrs }

func withEvidence(s sdktrace.ReadOnlySpan, extra []attribute.KeyValue) sdktrace.ReadOnlySpan {
	own := s.Attributes()
	attrs := make([]attribute.KeyValue, 0, len(own)+len(extra))
	return &evidencedSpan{ReadOnlySpan: s, attrs: append(append(attrs, own...), extra...)}
}

// holdProcessor is what WrapProcessor returns.
type holdProcessor struct {
	h    *hold
	next sdktrace.SpanProcessor

	closed atomic.Bool
	// under h.mu:
	held int           // spans this processor holds
	idle chan struct{} // closed when held drops to 0, for a waiting Shutdown or ForceFlush
}

var _ sdktrace.SpanProcessor = (*holdProcessor)(nil)

func (w *holdProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	w.next.OnStart(parent, s)
}

func (w *holdProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	h := w.h
	if h.n.Load() == 0 || w.closed.Load() {
		w.next.OnEnd(s)
		return
	}
	sc := s.SpanContext()
	if !sc.IsSampled() {
		w.next.OnEnd(s)
		return
	}
	k := keyOf(sc)
	h.mu.Lock()
	a := h.m[k]
	switch {
	case a == nil:
		h.mu.Unlock()
		w.next.OnEnd(s)
	case a.done:
		attrs := a.attrs
		if attrs != nil {
			a.delivered = true
			h.st.attached++
		}
		h.mu.Unlock()
		if attrs != nil {
			s = withEvidence(s, attrs)
		}
		w.next.OnEnd(s)
	case h.held >= h.max:
		a.missed = true
		h.st.overflow++
		h.mu.Unlock()
		w.next.OnEnd(s)
	default:
		a.held = append(a.held, heldSpan{ro: s, w: w})
		h.held++
		w.held++
		if len(a.held) == 1 {
			h.arm(k, a)
		}
		h.mu.Unlock()
	}
}

// waitIdle waits until this processor holds no span, at most limit or until ctx is done.
func (w *holdProcessor) waitIdle(ctx context.Context, limit time.Duration) {
	h := w.h
	h.mu.Lock()
	if w.held == 0 {
		h.mu.Unlock()
		return
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	ch := w.idle
	h.mu.Unlock()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// ForceFlush waits for the captures of the spans held (each waits at most WithSpanHold's wait),
// then flushes next.
func (w *holdProcessor) ForceFlush(ctx context.Context) error {
	w.waitIdle(ctx, w.h.wait)
	return w.next.ForceFlush(ctx)
}

// Shutdown gives the captures of the spans held at most the hold's wait, and at most half the
// time ctx leaves (the rest is next's, to export them), sends what is still held unchanged, and
// shuts next down. Spans ending later go straight to next.
func (w *holdProcessor) Shutdown(ctx context.Context) error {
	if w.closed.Swap(true) {
		return w.next.Shutdown(ctx)
	}
	limit := w.h.wait
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl)/2)
	}
	if limit > 0 {
		w.waitIdle(ctx, limit)
	}
	h := w.h
	h.mu.Lock()
	var out []heldSpan
	for _, a := range h.m {
		keep, mine := a.held[:0], len(out)
		for _, hs := range a.held {
			if hs.w == w {
				out = append(out, hs)
			} else {
				keep = append(keep, hs)
			}
		}
		a.held = keep
		a.missed = a.missed || len(out) > mine
	}
	h.st.shutdown += int64(len(out))
	h.mu.Unlock()
	h.hand(out, nil) // counted in CaptureStats.HeldShutdown; their breakdown stays in Snapshot
	// A span another goroutine is handing on now (its capture just finished) reaches next
	// before next stops.
	w.waitIdle(ctx, time.Second)
	return w.next.Shutdown(ctx)
}
