package spans

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/latency"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Latency defaults: see Monitor's doc for what they bound.
const (
	DefaultMaxRoutes   = 100  // rows with latency figures; later routes count in "(other)"
	DefaultRecentSpans = 4096 // ended spans remembered, to find the spans of an example request
	DefaultKeptTraces  = 128  // example requests whose spans are kept for their waterfall

	maxKeptSpans    = 128                // spans kept per example trace
	examplesPerKind = 2                  // examples per route, bucket and outcome (ok, failed)
	pickEvery       = int64(time.Second) // the least time between two examples of one route, bucket and outcome
)

// The two windows, each a ring of per-interval histograms (internal/latency).
const (
	shortSlots, shortInterval = 6, 10 * time.Second // the last minute: 50 to 60 s of data
	longSlots, longInterval   = 10, time.Minute     // the last ten minutes: 9 to 10 min
)

// routeKey names a row of the latency table: a route (a server span's name, which
// httpctx.NewHandler sets to the method and pattern) or another local root's span name, by kind.
type routeKey struct {
	name string
	kind uint8
}

// route holds one row's windows and when it last kept an example.
type route struct {
	key         routeKey
	other       bool
	short, long latency.Ring
	lastPick    [latency.NumCoarse][2]atomic.Int64 // end time (Unix ns) of the last example kept, ok and failed
}

func newRoute(k routeKey, other bool) *route {
	r := &route{key: k, other: other}
	r.short.Init(shortSlots, shortInterval)
	r.long.Init(longSlots, longInterval)
	return r
}

// latencyBook is the Monitor's latency table and example store.
type latencyBook struct {
	maxRoutes int
	since     int64 // Unix ns of NewMonitor: no window covers more than that
	routes    atomic.Pointer[map[routeKey]*route]
	routesMu  sync.Mutex
	other     *route
	late      atomic.Uint64 // durations that ended before their window (a clock step back)

	keptMu sync.Mutex
	kept   []keptTrace
}

// keptTrace is one example request: its root span's figures and the spans of its trace the
// monitor still remembered when the root ended.
type keptTrace struct {
	route   *route // nil: a free record
	bucket  int
	failed  bool
	traceID trace.TraceID
	spanID  trace.SpanID
	dur     int64 // ns
	end     int64 // Unix ns
	spans   []sdktrace.ReadOnlySpan
	missed  int // spans of the trace found past maxKeptSpans
}

func newLatencyBook(cfg monitorConfig) *latencyBook {
	b := &latencyBook{maxRoutes: cfg.maxRoutes, since: time.Now().UnixNano()}
	b.other = newRoute(routeKey{name: otherName}, true)
	routes := make(map[routeKey]*route)
	b.routes.Store(&routes)
	b.kept = make([]keptTrace, cfg.keptTraces)
	for i := range b.kept {
		b.kept[i].spans = make([]sdktrace.ReadOnlySpan, 0, maxKeptSpans)
	}
	return b
}

// routeFor returns the row of a (clipped) name and kind, creating it while there is room, the
// "(other)" row after. The read path is an atomic load and a map lookup.
func (b *latencyBook) routeFor(k routeKey) *route {
	routes := *b.routes.Load()
	if r, ok := routes[k]; ok {
		return r
	}
	if len(routes) >= b.maxRoutes {
		return b.other
	}
	b.routesMu.Lock()
	defer b.routesMu.Unlock()
	routes = *b.routes.Load()
	if r, ok := routes[k]; ok {
		return r
	}
	if len(routes) >= b.maxRoutes {
		return b.other
	}
	next := make(map[routeKey]*route, len(routes)+1)
	for key, v := range routes {
		next[key] = v
	}
	k.name = strings.Clone(k.name)
	r := newRoute(k, false)
	next[k] = r
	b.routes.Store(&next)
	return r
}

// localRoot reports whether s is the first span of its trace in this process: a server span
// under a remote caller, or a span without a parent. Those are the requests (and jobs) the
// latency table counts; their children are in their waterfalls.
func localRoot(s sdktrace.ReadOnlySpan) bool {
	p := s.Parent()
	return !p.IsValid() || p.IsRemote()
}

// record counts an ended local root in its row's windows and may keep it as an example. The
// caller holds no shard lock. It never allocates once the row exists.
func (m *Monitor) recordLatency(s sdktrace.ReadOnlySpan, name string, kind int, failed bool) {
	b := m.lat
	start, end := s.StartTime().UnixNano(), s.EndTime().UnixNano()
	dur := max(end-start, 0)
	r := b.routeFor(routeKey{name: name, kind: uint8(kind)})
	if !r.short.Record(end, dur, failed) {
		b.late.Add(1)
	}
	r.long.Record(end, dur, failed)

	bucket := latency.CoarseIndex(dur)
	f := 0
	if failed {
		f = 1
	}
	last := &r.lastPick[bucket][f]
	if prev := last.Load(); end-prev < pickEvery || !last.CompareAndSwap(prev, end) {
		return
	}
	sc := s.SpanContext()
	m.keep(r, bucket, failed, sc.TraceID(), sc.SpanID(), dur, end)
}

// priority orders examples for eviction: failed before ok, slow before fast, and anything older
// than the long window last.
func (k *keptTrace) priority(now int64) int {
	if k.route == nil {
		return -2
	}
	if now-k.end > int64(longSlots)*int64(longInterval) {
		return -1
	}
	p := k.bucket
	if k.failed {
		p += latency.NumCoarse
	}
	return p
}

// keep stores an example request: it takes the oldest of its route, bucket and outcome when
// those are examplesPerKind already, else a free record, else the least precious one (see
// priority) if that is not more precious than the new one. Then it gathers the trace's spans
// from the shards' recent lists. Rate-limited by recordLatency's lastPick, so the shard locks
// it takes are rare.
func (m *Monitor) keep(r *route, bucket int, failed bool, tid trace.TraceID, sid trace.SpanID, dur, end int64) {
	b := m.lat
	b.keptMu.Lock()
	defer b.keptMu.Unlock()
	victim, same := -1, 0
	for i := range b.kept {
		k := &b.kept[i]
		if k.route == r && k.bucket == bucket && k.failed == failed {
			same++
			if victim < 0 || k.end < b.kept[victim].end {
				victim = i // the oldest of its route, bucket and outcome
			}
		}
	}
	if same < examplesPerKind {
		victim = -1
		newP := (&keptTrace{route: r, bucket: bucket, failed: failed, end: end}).priority(end)
		for i := range b.kept {
			k := &b.kept[i]
			if victim < 0 || k.priority(end) < b.kept[victim].priority(end) ||
				k.priority(end) == b.kept[victim].priority(end) && k.end < b.kept[victim].end {
				victim = i
			}
		}
		if victim < 0 || b.kept[victim].priority(end) > newP {
			return // every record holds a slower or failed example
		}
	}
	k := &b.kept[victim]
	clear(k.spans[:cap(k.spans)]) // let go of the previous trace's spans
	*k = keptTrace{route: r, bucket: bucket, failed: failed, traceID: tid, spanID: sid, dur: dur, end: end, spans: k.spans[:0]}
	tk := traceKey(tid)
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for _, rs := range sh.recent {
			if rs.trace != tk || rs.span == nil || rs.span.SpanContext().TraceID() != tid {
				continue
			}
			if len(k.spans) == cap(k.spans) {
				k.missed++
				continue
			}
			k.spans = append(k.spans, rs.span)
		}
		sh.mu.Unlock()
	}
}

// keptSpans returns a copy of the spans kept for the trace, and whether it was kept.
func (m *Monitor) keptSpans(tid trace.TraceID) (spans []sdktrace.ReadOnlySpan, missed int, ok bool) {
	if m.lat == nil {
		return nil, 0, false
	}
	b := m.lat
	b.keptMu.Lock()
	defer b.keptMu.Unlock()
	for i := range b.kept {
		if k := &b.kept[i]; k.route != nil && k.traceID == tid {
			return slices.Clone(k.spans), k.missed, true
		}
	}
	return nil, 0, false
}

// addExamples files the kept example requests under their rows, newest first.
func (b *latencyBook) addExamples(rows []RouteLatency) {
	byRoute := make(map[routeKey][]Example)
	b.keptMu.Lock()
	for i := range b.kept {
		k := &b.kept[i]
		if k.route == nil {
			continue
		}
		byRoute[k.route.key] = append(byRoute[k.route.key], Example{
			TraceID: k.traceID, SpanID: k.spanID, Bucket: k.bucket, Duration: time.Duration(k.dur),
			Failed: k.failed, End: time.Unix(0, k.end),
		})
	}
	b.keptMu.Unlock()
	for i := range rows {
		ex := byRoute[routeKey{rows[i].Name, uint8(rows[i].Kind)}]
		if rows[i].Other {
			ex = byRoute[b.other.key]
		}
		slices.SortFunc(ex, func(a, b Example) int { return b.End.Compare(a.End) })
		rows[i].Examples = ex
	}
}

// recentSpan is an ended span in a shard's recent list.
type recentSpan struct {
	trace uint64 // traceKey of its trace ID
	span  sdktrace.ReadOnlySpan
}

// Example is a request the monitor kept for its waterfall.
type Example struct {
	TraceID  trace.TraceID
	SpanID   trace.SpanID // the request's root span
	Bucket   int          // its coarse latency bucket: see LatencyBuckets
	Duration time.Duration
	Failed   bool
	End      time.Time
}

// RouteLatency is one row of the latency table over one window.
type RouteLatency struct {
	Name          string
	Kind          trace.SpanKind
	Other         bool // the routes past WithMaxRoutes, together
	Requests      uint64
	Errors        uint64
	Rate          float64       // requests a second over Covered
	Covered       time.Duration // how much time the window holds now
	P50, P95, P99 time.Duration
	Total         time.Duration // time spent in the route's requests
	Impact        float64       // Total over the Total of all rows: share of the time spent
	Buckets       [latency.NumCoarse]uint64
	BucketErrors  [latency.NumCoarse]uint64
	Examples      []Example // kept example requests, newest first
}

// LatencyBuckets returns the upper edges of the coarse latency buckets that RouteLatency.Buckets
// counts: bucket i holds the durations under edge i and at or over edge i-1; the last bucket,
// one past these edges, everything longer.
func LatencyBuckets() []time.Duration { return slices.Clone(latency.CoarseEdges[:]) }

// Latency returns the latency table over the last minute (long false) or the last ten minutes
// (long true): one row per route of a server span and per name of other local root spans (a
// span without a parent in this process), sorted by Impact, the "(other)" row last when it has
// requests. Nil when the monitor was made WithoutLatency.
func (m *Monitor) Latency(long bool) []RouteLatency {
	if m.lat == nil {
		return nil
	}
	return m.latencyAt(time.Now(), long, true)
}

// latencyAt is Latency at now; without examples, the rows' Examples stay nil (the page reads
// them from one window only).
func (m *Monitor) latencyAt(now time.Time, long, examples bool) []RouteLatency {
	b := m.lat
	routes := *b.routes.Load()
	all := make([]*route, 0, len(routes)+1)
	for _, r := range routes {
		all = append(all, r)
	}
	all = append(all, b.other)
	out := make([]RouteLatency, 0, len(all))
	var s latency.Summary
	var total time.Duration
	for _, r := range all {
		ring := &r.short
		if long {
			ring = &r.long
		}
		ring.Read(now.UnixNano(), b.since, &s)
		if r.other && s.Count == 0 {
			continue
		}
		row := RouteLatency{
			Name: r.key.name, Kind: trace.SpanKind(r.key.kind), Other: r.other,
			Requests: s.Count, Errors: s.Errors, Rate: s.Rate(), Covered: s.Covered,
			P50: s.Quantile(0.50), P95: s.Quantile(0.95), P99: s.Quantile(0.99),
			Total: s.Sum, Buckets: s.Coarse, BucketErrors: s.CoarseErrors,
		}
		total += s.Sum
		out = append(out, row)
	}
	for i := range out {
		if total > 0 {
			out[i].Impact = float64(out[i].Total) / float64(total)
		}
	}
	if examples {
		b.addExamples(out)
	}
	slices.SortFunc(out, func(a, b RouteLatency) int {
		if a.Other != b.Other {
			if a.Other {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Impact, a.Impact), cmp.Compare(b.Requests, a.Requests),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}
