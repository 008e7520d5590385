package evidence

import (
	"context"
	"encoding/binary"
	"runtime/pprof"
	rtrace "runtime/trace"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/internal/spanids"
)

// The label keys, and the limits of the profilers that read Go's labels from outside (the
// OpenTelemetry eBPF profiler): at most 10 labels a goroutine, keys of at most 16 bytes,
// values of at most 48.
const (
	LabelRoute   = "route"
	LabelTraceID = "trace_id"
	LabelSpanID  = "span_id"

	MaxLabels     = 10
	MaxLabelKey   = 16
	MaxLabelValue = 48
)

// unknownRoute is the route label of a request whose route is not known at its start.
const unknownRoute = "unknown"

// Request is one request under a Recorder, from Begin to End.
type Request struct {
	r        *Recorder
	orig     context.Context // the context Begin was given, whose labels End restores
	labelled bool
	key      uint64 // the span ID as a number, the in-flight registry's key; 0 when not registered
	span     trace.Span
	sid      string // the span ID, hex, "" when there is no span
	tid      string
	route    string
	start    time.Time
}

// Begin starts tracking a request whose handler runs on the calling goroutine: it labels the
// goroutine (when labels are armed) and returns the context to run the handler with, which
// carries the labels so that pprof.Do inside keeps them. route is the request's route ("" when
// unknown yet). Call End on the same goroutine when the handler returns. With nothing armed it
// returns ctx and a nil *Request, whose End does nothing.
func (r *Recorder) Begin(ctx context.Context, route string) (context.Context, *Request) {
	if !r.armed() {
		return ctx, nil
	}
	q := &Request{r: r, orig: ctx, span: trace.SpanFromContext(ctx), route: route}
	return r.begin(ctx, route, q), q
}

// begin fills q and returns the handler's context.
func (r *Recorder) begin(ctx context.Context, route string, q *Request) context.Context {
	sc := q.span.SpanContext()
	var tid, sid string
	if sc.IsValid() {
		tid, sid = hexIDs(ctx, q.span, sc)
		q.tid, q.sid = tid, sid
	}
	if r.flight != nil {
		q.start = time.Now()
		if sid != "" && rtrace.IsEnabled() {
			rtrace.Log(ctx, logBegin, sid)
		}
	}
	if !r.cfg.labels {
		return ctx
	}
	if r.inflight != nil && sc.IsValid() {
		id := sc.SpanID()
		q.key = binary.BigEndian.Uint64(id[:])
		r.inflight.add(q.key)
	}
	if route == "" {
		route = unknownRoute
	}
	if !sc.IsSampled() {
		tid = "" // no trace to find: the span ID still marks the request's goroutines
	}
	lctx := withRequestLabels(ctx, route, tid, sid)
	pprof.SetGoroutineLabels(lctx)
	q.labelled = true
	return lctx
}

// hexIDs returns the span's hex IDs, from the slot of httpctx's request node when there is one
// (no allocation, and the log bridges reuse it), else encoded once.
func hexIDs(ctx context.Context, span trace.Span, sc trace.SpanContext) (string, string) {
	if slot := spanids.FromContext(ctx); slot != nil {
		if ids := slot.IDs(span, sc.TraceID(), sc.SpanID()); ids != nil {
			return ids.Trace, ids.Span
		}
	}
	ids := spanids.Encode(span, sc.TraceID(), sc.SpanID(), false)
	return ids.Trace, ids.Span
}

// withRequestLabels adds the request's labels to those of ctx, never replacing one the
// application set and keeping to MaxLabels: the route first, then the trace ID, then the span
// ID, as many as there is room for.
func withRequestLabels(ctx context.Context, route, tid, sid string) context.Context {
	n := 0
	var hasRoute, hasTrace, hasSpan bool
	pprof.ForLabels(ctx, func(k, _ string) bool {
		n++
		switch k {
		case LabelRoute:
			hasRoute = true
		case LabelTraceID:
			hasTrace = true
		case LabelSpanID:
			hasSpan = true
		}
		return true
	})
	// Room is given by priority (route, trace, span); the pairs go to pprof.Labels in key order,
	// which spares it a sort and a second allocation.
	room := MaxLabels - n
	take := func(present bool, v string) bool {
		if present || v == "" || room <= 0 {
			return false
		}
		room--
		return true
	}
	withRoute := take(hasRoute, route)
	withTrace := take(hasTrace, tid)
	withSpan := take(hasSpan, sid)
	var kv [6]string
	m := 0
	if withRoute {
		kv[m], kv[m+1] = LabelRoute, capValue(route)
		m += 2
	}
	if withSpan {
		kv[m], kv[m+1] = LabelSpanID, capValue(sid)
		m += 2
	}
	if withTrace {
		kv[m], kv[m+1] = LabelTraceID, capValue(tid)
		m += 2
	}
	switch m {
	case 0:
		return ctx
	case 2:
		return pprof.WithLabels(ctx, pprof.Labels(kv[0], kv[1]))
	case 4:
		return pprof.WithLabels(ctx, pprof.Labels(kv[0], kv[1], kv[2], kv[3]))
	default:
		return pprof.WithLabels(ctx, pprof.Labels(kv[0], kv[1], kv[2], kv[3], kv[4], kv[5]))
	}
}

// capValue cuts v to MaxLabelValue bytes, on a rune boundary.
func capValue(v string) string {
	if len(v) <= MaxLabelValue {
		return v
	}
	i := MaxLabelValue
	for i > 0 && !utf8.RuneStart(v[i]) {
		i--
	}
	return v[:i]
}

// End ends the request: it restores the goroutine's labels to those of the context Begin was
// given, and, with the flight recorder armed, asks for a capture when the request was slower
// than its route's threshold or failed (failed: err != nil). Call it on Begin's goroutine,
// before the request's span ends. route is the request's route as known at its end ("" for
// Begin's). It is a no-op on a nil *Request.
func (q *Request) End(route string, failed bool) {
	if q == nil {
		return
	}
	if route == "" {
		route = q.route
	}
	r := q.r
	if q.labelled {
		pprof.SetGoroutineLabels(q.orig)
	}
	if q.key != 0 {
		r.inflight.remove(q.key)
	}
	if r.flight != nil {
		if q.sid != "" && rtrace.IsEnabled() {
			rtrace.Log(q.orig, logEnd, q.sid)
		}
		r.flight.requestEnded(q, route, failed)
	}
}

// inflight is the set of requests running now, keyed by span ID: a goroutine labelled with a
// span ID not in it belongs to a finished request. Sharded so that requests on many cores do not
// queue on one lock; maps keep their buckets, so it allocates only while growing.
type inflight struct {
	shards [32]struct {
		mu sync.Mutex
		m  map[uint64]struct{}
		_  [64 - 16]byte // a 64-byte cache line per shard: the mutex and the map pointer take 16
	}
}

func newInflight() *inflight {
	f := &inflight{}
	for i := range f.shards {
		f.shards[i].m = make(map[uint64]struct{})
	}
	return f
}

func (f *inflight) add(k uint64) {
	s := &f.shards[k%uint64(len(f.shards))]
	s.mu.Lock()
	s.m[k] = struct{}{}
	s.mu.Unlock()
}

func (f *inflight) remove(k uint64) {
	s := &f.shards[k%uint64(len(f.shards))]
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

func (f *inflight) has(k uint64) bool {
	s := &f.shards[k%uint64(len(f.shards))]
	s.mu.Lock()
	_, ok := s.m[k]
	s.mu.Unlock()
	return ok
}
