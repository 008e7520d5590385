package waterfall

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Defaults of the Printer's bounds.
const (
	DefaultMaxTraces  = 1024             // traces waiting for their local root
	DefaultMaxSpans   = 512              // spans kept per trace
	DefaultMaxLines   = 256              // log lines kept per trace
	DefaultMaxAge     = 30 * time.Second // a trace whose local root has not ended by then is printed as it is
	DefaultQueueSize  = 4096             // spans and lines waiting for the printer's goroutine
	maxDone           = 128              // printed traces remembered, to tell a late span from a new trace
	maxTrackedClients = 4096             // client spans remembered while they run (see OnStart)
)

// ErrShutdown is returned by ForceFlush after Shutdown.
var ErrShutdown = errors.New("waterfall: printer shut down")

// Printer is the terminal waterfall exporter: it draws each trace as a tree with duration bars,
// followed by the log lines logged in it, as soon as the trace's local root span ends (the
// server span of a request, or a span started without a parent). Install registers one for
// OTEL_TRACES_EXPORTER=ctxtrail-waterfall or ctxtrail.WithWaterfall.
//
// It is a span processor rather than a SpanExporter behind a batch processor: the request path
// only queues the ended span (a bounded queue that drops, and counts, what does not fit), and
// one goroutine groups and prints, in the order spans ended. One Printer may serve several
// tracer providers (services) of one process; a server span whose remote parent is a client
// span started through the same Printer is then drawn under that client span, in one trace,
// printed once the local root and every such hop have ended. A caller in another process is not
// seen: the server span that answered it is the local root, drawn "(parent missing)".
//
// Memory is bounded: at most MaxTraces traces wait for their root, each keeping MaxSpans spans
// and MaxLines lines; a trace whose root has not ended after MaxAge, or that is pushed out by
// newer ones, is printed as it is, marked incomplete. Everything dropped is counted (Stats), and
// a line on the output says so.
type Printer struct {
	cfg   config
	w     io.Writer
	queue chan item
	stop  chan struct{}
	done  chan struct{}

	trackMu  sync.Mutex                 // guards clients, hops and hopsOpen (OnStart and the goroutine)
	clients  map[trace.SpanID]time.Time // client spans running now, by span ID
	hops     map[trace.SpanID]hop       // spans running under a client span of this process
	hopsOpen map[trace.TraceID]int      // how many hops of each trace are still running

	stopping atomic.Bool
	stopOnce sync.Once
	shutErr  error

	printed, incomplete, late, writeErrors             atomic.Uint64
	spansQueued, spansDropped, spansOverCap            atomic.Uint64
	linesQueued, linesDropped, linesOverCap, untracked atomic.Uint64
}

var _ sdktrace.SpanProcessor = (*Printer)(nil)

// Stats counts what a Printer did. Every span handed to it is queued or dropped; every queued
// span is printed, kept past its trace's cap (OverCap), or reported late.
type Stats struct {
	Traces       uint64 // traces printed, complete or not
	Incomplete   uint64 // of which printed before their local root ended (age, cap, shutdown)
	Late         uint64 // spans and lines that arrived after their trace was printed
	SpansQueued  uint64
	SpansDropped uint64 // the queue was full, or the printer shut down
	SpansOverCap uint64 // past MaxSpans of their trace
	LinesQueued  uint64
	LinesDropped uint64
	LinesOverCap uint64
	Untracked    uint64 // client spans not remembered (too many at once): their children print apart
	WriteErrors  uint64
}

// Stats returns the counters. It is cheap and safe for concurrent use.
func (p *Printer) Stats() Stats {
	return Stats{
		Traces: p.printed.Load(), Incomplete: p.incomplete.Load(), Late: p.late.Load(),
		SpansQueued: p.spansQueued.Load(), SpansDropped: p.spansDropped.Load(), SpansOverCap: p.spansOverCap.Load(),
		LinesQueued: p.linesQueued.Load(), LinesDropped: p.linesDropped.Load(), LinesOverCap: p.linesOverCap.Load(),
		Untracked: p.untracked.Load(), WriteErrors: p.writeErrors.Load(),
	}
}

// item is what the queue carries: an ended span, a log line, or a marker (flush or stop).
type item struct {
	span   sdktrace.ReadOnlySpan
	line   *Line
	marker chan struct{}
	final  bool // the marker of Shutdown: print what is left, then stop
}

// New returns a Printer writing to w (each trace in one Write call) and starts its goroutine,
// which runs until Shutdown. A nil w discards.
func New(w io.Writer, opts ...Option) *Printer {
	if w == nil {
		w = io.Discard
	}
	cfg := newConfig(opts)
	p := &Printer{
		cfg:      cfg,
		w:        w,
		queue:    make(chan item, cfg.queueSize),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		clients:  map[trace.SpanID]time.Time{},
		hops:     map[trace.SpanID]hop{},
		hopsOpen: map[trace.TraceID]int{},
	}
	go p.run()
	return p
}

// OnStart remembers what it takes to tell where a trace starts and ends in this process: the
// client (and producer) spans running now, and the spans started under one of them across a
// hop — a server span of another service of this process. The trace is printed once its local
// root and every such hop have ended, whatever order their providers deliver them in.
func (p *Printer) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	sc := s.SpanContext()
	if !sc.IsSampled() || p.stopping.Load() {
		return
	}
	k := s.SpanKind()
	client := k == trace.SpanKindClient || k == trace.SpanKindProducer
	parent := s.Parent()
	remote := parent.SpanID().IsValid() && parent.IsRemote()
	if !client && !remote {
		return
	}
	p.trackMu.Lock()
	defer p.trackMu.Unlock()
	if remote {
		if _, local := p.clients[parent.SpanID()]; local {
			if len(p.hops) < maxTrackedClients {
				p.hops[sc.SpanID()] = hop{trace: sc.TraceID(), start: s.StartTime()}
				p.hopsOpen[sc.TraceID()]++
			} else {
				p.untracked.Add(1)
			}
		}
	}
	if client {
		if len(p.clients) < maxTrackedClients {
			p.clients[sc.SpanID()] = s.StartTime()
		} else {
			p.untracked.Add(1)
		}
	}
}

// hop is a span started in this process under a client span of this process.
type hop struct {
	trace trace.TraceID
	start time.Time
}

// OnEnd queues a sampled span for the printer's goroutine, or drops and counts it if the queue
// is full. It never blocks.
func (p *Printer) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.stopping.Load() {
		p.spansDropped.Add(1)
		return
	}
	select {
	case p.queue <- item{span: s}:
		p.spansQueued.Add(1)
	default:
		p.spansDropped.Add(1)
	}
}

// WriteLine is Log with the line's parts. It is what zapbridge.WithWaterfall,
// slogbridge.WithWaterfall and trail.NewWaterfallSink take (their LineWriter), so that a log
// bridge never compiles this package and the SDK it draws from.
func (p *Printer) WriteLine(t time.Time, traceID trace.TraceID, spanID trace.SpanID, level, message string, attrs []attribute.KeyValue) {
	p.Log(Line{Time: t, TraceID: traceID, SpanID: spanID, Level: level, Message: message, Attrs: attrs})
}

// Log queues a log line to be printed under its trace. Lines without a valid trace ID belong to
// no trace and are ignored. It never blocks and may be called concurrently; a nil Printer
// ignores the line, so a bridge can be given a Printer that Install did not build.
func (p *Printer) Log(l Line) {
	if p == nil || !l.TraceID.IsValid() {
		return
	}
	if p.stopping.Load() {
		p.linesDropped.Add(1)
		return
	}
	l.Attrs = append(l.Attrs[:0:0], l.Attrs[:min(len(l.Attrs), maxLineAttrs+1)]...)
	select {
	case p.queue <- item{line: &l}:
		p.linesQueued.Add(1)
	default:
		p.linesDropped.Add(1)
	}
}

// ForceFlush waits until every span and line queued before the call has been handled: traces
// whose local root has ended are printed. Traces still open stay open.
func (p *Printer) ForceFlush(ctx context.Context) error {
	if p.stopping.Load() {
		return ErrShutdown
	}
	return p.mark(ctx, false)
}

// Shutdown handles what is queued, prints the traces still open (marked incomplete), and stops
// the goroutine. It returns by ctx's deadline; the goroutine then stops without printing the
// rest. Later calls return the first call's result.
func (p *Printer) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		p.shutErr = p.mark(ctx, true)
		close(p.stop)
		select {
		case <-p.done:
		case <-ctx.Done():
			if p.shutErr == nil {
				p.shutErr = ctx.Err()
			}
		}
	})
	return p.shutErr
}

func (p *Printer) mark(ctx context.Context, final bool) error {
	m := make(chan struct{})
	select {
	case p.queue <- item{marker: m, final: final}:
	case <-p.done:
		return ErrShutdown
	case <-ctx.Done():
		return fmt.Errorf("waterfall: %w", ctx.Err())
	}
	select {
	case <-m:
		return nil
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waterfall: %w", ctx.Err())
	}
}

// open is a trace waiting for its local root. Only the printer's goroutine touches it.
type open struct {
	id           trace.TraceID
	since        time.Time // when the first span or line arrived
	spans        []Span
	lines        []Line
	droppedSpans int
	droppedLines int
	rootEnded    bool          // the local root has arrived; waiting for hops still running
	elem         *list.Element // in byAge
}

// state is the printer goroutine's own: no locks.
type state struct {
	open     map[trace.TraceID]*open
	byAge    *list.List                        // of *open, oldest first
	done     map[trace.TraceID]map[string]bool // recently printed traces → their span IDs
	doneRing []trace.TraceID
	buf      bytes.Buffer
	reported Stats // drop counters already announced on the output
}

func (p *Printer) run() {
	defer close(p.done)
	st := &state{open: map[trace.TraceID]*open{}, byAge: list.New(), done: map[trace.TraceID]map[string]bool{}}
	tick := time.NewTicker(max(min(p.cfg.maxAge/4, time.Second), time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case it := <-p.queue:
			if p.handle(st, it) {
				return
			}
		case now := <-tick.C:
			p.expire(st, now)
		case <-p.stop:
			return
		}
	}
}

// handle processes one item and reports whether the goroutine should stop.
func (p *Printer) handle(st *state, it item) bool {
	switch {
	case it.span != nil:
		p.addSpan(st, it.span)
	case it.line != nil:
		p.addLine(st, it.line)
	case it.marker != nil:
		if it.final {
			for e := st.byAge.Front(); e != nil; e = st.byAge.Front() {
				p.print(st, e.Value.(*open), "incomplete: its local root had not ended at shutdown")
			}
			p.announceDrops(st)
		}
		close(it.marker)
		return it.final
	}
	return false
}

func (p *Printer) addSpan(st *state, ro sdktrace.ReadOnlySpan) {
	sc := ro.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	s := SpanOf(ro)

	p.trackMu.Lock()
	if k := ro.SpanKind(); k == trace.SpanKindClient || k == trace.SpanKindProducer {
		delete(p.clients, sid)
	}
	_, isHop := p.hops[sid]
	if isHop {
		delete(p.hops, sid)
		p.closeHop(tid)
	}
	hopsRunning := p.hopsOpen[tid]
	p.trackMu.Unlock()

	// The root of the trace in this process: no parent, or a remote one that is not a client
	// span of this process.
	parent := ro.Parent()
	root := !parent.SpanID().IsValid() || parent.IsRemote() && !isHop

	o := st.open[tid]
	if o == nil {
		if spanIDs, ok := st.done[tid]; ok && spanIDs[s.ParentID] {
			p.printLate(st, tid, fmt.Sprintf("span %q (%s, %s) ended after its trace was printed", s.Name, s.Service, fmtDur(s.Duration())))
			return
		}
		o = p.openTrace(st, tid)
	}
	if len(o.spans) < p.cfg.maxSpans || root {
		o.spans = append(o.spans, s)
	} else {
		o.droppedSpans++
		p.spansOverCap.Add(1)
	}
	o.rootEnded = o.rootEnded || root
	if o.rootEnded && hopsRunning == 0 {
		p.print(st, o, "")
	}
}

// closeHop counts a hop of tid as ended. trackMu is held.
func (p *Printer) closeHop(tid trace.TraceID) {
	if n := p.hopsOpen[tid] - 1; n > 0 {
		p.hopsOpen[tid] = n
	} else {
		delete(p.hopsOpen, tid)
	}
}

func (p *Printer) addLine(st *state, l *Line) {
	o := st.open[l.TraceID]
	if o == nil {
		if _, ok := st.done[l.TraceID]; ok {
			p.printLate(st, l.TraceID, fmt.Sprintf("log line %q came after its trace was printed", truncate(l.Message, 60)))
			return
		}
		o = p.openTrace(st, l.TraceID)
	}
	if len(o.lines) < p.cfg.maxLines {
		o.lines = append(o.lines, *l)
	} else {
		o.droppedLines++
		p.linesOverCap.Add(1)
	}
}

func (p *Printer) openTrace(st *state, tid trace.TraceID) *open {
	for len(st.open) >= p.cfg.maxTraces {
		oldest := st.byAge.Front().Value.(*open)
		p.print(st, oldest, fmt.Sprintf("incomplete: pushed out, more than %d traces open", p.cfg.maxTraces))
	}
	o := &open{id: tid, since: time.Now()}
	o.elem = st.byAge.PushBack(o)
	st.open[tid] = o
	return o
}

// expire prints the traces open for longer than MaxAge, and forgets client spans and hops that
// old (their end was dropped, so it will never arrive).
func (p *Printer) expire(st *state, now time.Time) {
	for e := st.byAge.Front(); e != nil; e = st.byAge.Front() {
		o := e.Value.(*open)
		if now.Sub(o.since) < p.cfg.maxAge {
			break
		}
		p.print(st, o, fmt.Sprintf("incomplete: its local root had not ended after %v", p.cfg.maxAge))
	}
	p.trackMu.Lock()
	for id, started := range p.clients {
		if now.Sub(started) > p.cfg.maxAge {
			delete(p.clients, id)
		}
	}
	for id, h := range p.hops {
		if now.Sub(h.start) > p.cfg.maxAge {
			delete(p.hops, id)
			p.closeHop(h.trace)
		}
	}
	p.trackMu.Unlock()
	p.announceDrops(st)
}

// print writes o's trace and forgets it.
func (p *Printer) print(st *state, o *open, note string) {
	delete(st.open, o.id)
	st.byAge.Remove(o.elem)
	p.remember(st, o)
	p.announceDrops(st)
	if len(o.spans) == 0 { // lines only: their spans were dropped or never sampled here
		o.spans = append(o.spans, Span{TraceID: o.id.String(), Name: "(no spans kept)", Start: o.since, End: o.since})
	}
	st.buf.Reset()
	drawTrace(&st.buf, Trace{Spans: o.spans, Lines: o.lines, Note: note, DroppedSpans: o.droppedSpans, DroppedLines: o.droppedLines},
		Options{BarWidth: p.cfg.barWidth})
	st.buf.WriteByte('\n')
	p.write(st.buf.Bytes())
	// Counted once written, so that a reader who sees the count sees the output too.
	if note != "" {
		p.incomplete.Add(1)
	}
	p.printed.Add(1)
}

func (p *Printer) remember(st *state, o *open) {
	ids := make(map[string]bool, len(o.spans))
	for _, s := range o.spans {
		ids[s.SpanID] = true
	}
	if len(st.doneRing) == maxDone {
		delete(st.done, st.doneRing[0])
		st.doneRing = append(st.doneRing[:0], st.doneRing[1:]...)
	}
	st.done[o.id] = ids
	st.doneRing = append(st.doneRing, o.id)
}

func (p *Printer) printLate(st *state, tid trace.TraceID, what string) {
	p.write(fmt.Appendf(nil, "trace %s: late: %s\n\n", tid, clean(what, maxReasonRunes)))
	p.late.Add(1)
}

// announceDrops writes a line when spans or lines were dropped since the last announcement.
func (p *Printer) announceDrops(st *state) {
	now := p.Stats()
	d := Stats{
		SpansDropped: now.SpansDropped - st.reported.SpansDropped,
		LinesDropped: now.LinesDropped - st.reported.LinesDropped,
		SpansOverCap: now.SpansOverCap - st.reported.SpansOverCap,
		LinesOverCap: now.LinesOverCap - st.reported.LinesOverCap,
		Untracked:    now.Untracked - st.reported.Untracked,
	}
	if d == (Stats{}) {
		return
	}
	st.reported = now
	var parts []string
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{d.SpansDropped, "spans dropped (queue full)"},
		{d.LinesDropped, "log lines dropped (queue full)"},
		{d.SpansOverCap, fmt.Sprintf("spans past the cap of %d per trace", p.cfg.maxSpans)},
		{d.LinesOverCap, fmt.Sprintf("log lines past the cap of %d per trace", p.cfg.maxLines)},
		{d.Untracked, "client spans not tracked (too many at once)"},
	} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	p.write(fmt.Appendf(nil, "waterfall: since the last notice: %s\n\n", strings.Join(parts, ", ")))
}

func (p *Printer) write(b []byte) {
	if _, err := p.w.Write(b); err != nil {
		p.writeErrors.Add(1)
	}
}
