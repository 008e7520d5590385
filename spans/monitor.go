package spans

import (
	"cmp"
	"context"
	"html/template"
	"log/slog"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Monitor defaults.
const (
	DefaultMaxTracked    = 10_000
	DefaultMaxNames      = 1_000
	DefaultLeakThreshold = time.Minute
)

const (
	maxShards   = 64 // power of two
	numKinds    = int(trace.SpanKindConsumer) + 1
	maxNameLen  = 256
	otherName   = "(other)"
	untrackName = "(untracked)"
	shrinkAbove = 1024 // a shard's map emptied after holding this many spans is made anew
	slotBits    = 4    // 16 direct-mapped slots a shard, 1,024 in all
	numStripes  = 4    // power of two
)

// Monitor keeps live statistics of spans: how many were created, ended and are active, overall,
// by kind and by name; the list of active spans with their age; and the spans active longer
// than a threshold, reported as probable leaks (a span never ended is Go's resource never
// destroyed). It serves them as JSON and as an HTML page (ServeHTTP), in the spirit of
// OpenTelemetry's zpages tracez.
//
// The Monitor is its own sdktrace.SpanProcessor rather than a set of Hooks on a Processor: its
// books must see the end of every span whose start they saw, so it must not be switched off
// with the hooks, or live spans would turn into false leaks. Register both with
// ctxtrail.WithSpanProcessor. On the span path it allocates only when a name is seen for the
// first time (at most WithMaxNames times), and it keeps that path short: a span's start puts the span into the active list and reads nothing of it; its end
// takes it out and counts it under the name it ended with. Names, kinds, start times and
// parents of active spans are read when Stats, the page or the leak check ask. The cost is
// measured in benchmarks/results/spans.md.
//
// Memory is bounded however many spans leak:
//   - at most WithMaxTracked spans are kept in the active list. The list holds the SDK's spans
//     themselves (the code that started a span holds it too, until it ends it) and lets go of
//     each at its end. The spans started while it is full are counted, by kind, in the
//     "(untracked)" rows and in Overflow, and still in the totals. The list is split by span
//     ID among up to 64 shards, each with its share of the cap, so a few spans may overflow
//     shortly before the whole list is full;
//   - at most WithMaxNames distinct span names get counters (under 1 KiB each); later names
//     share the "(other)" rows;
//   - names are clipped to 256 bytes;
//   - the latency table, its examples and the recent spans they come from have the bounds the
//     package doc lists (WithMaxRoutes, WithRecentSpans, WithKeptTraces).
//
// Like every span processor it sees recording spans only; Sampler counts the others. Besides
// the counts it keeps the latency table (see Latency and the package doc): requests by route,
// percentiles over sliding windows, example requests with their spans.
type Monitor struct {
	cfg monitorConfig

	shards    []shard
	shardBits int // len(shards) == 1<<shardBits
	overflow  atomic.Uint64
	names     atomic.Pointer[map[string]*nameCounters] // copy on write; read without a lock
	namesMu   sync.Mutex
	other     nameCounters
	untracked nameCounters
	leaksSent atomic.Uint64

	exportStats atomic.Pointer[func() ExportStats] // SetExportStats
	lat         *latencyBook                       // nil WithoutLatency
	sections    atomic.Pointer[[]section]          // WithMonitorSection, AddSection: replaced whole, never changed in place
	rt          runtimeBook
	jaeger      string // the Jaeger UI's base URL, "" for no links
	jaegerWhy   string // why the configured one is not used

	shut     atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	pageOnce sync.Once
	page     *template.Template
	pageErr  error
}

var _ sdktrace.SpanProcessor = (*Monitor)(nil)

// counters are the counts of one row and kind. A listed span is counted once, when it ends, as
// completed: until then Stats finds it in the active list. Only the "(untracked)" row, for the
// spans the list could not take, counts starts and ends as they happen.
type counters struct {
	completed      atomic.Uint64 // listed spans that ended: created and ended at once
	started, ended atomic.Uint64 // unlisted spans ("(untracked)" row only)
	dropped        atomic.Uint64 // sampled out (Sampler)
}

// nameCounters are the counters of one span name, by kind. Overall and by-kind counts are sums
// of these. The counters are striped: a span counts in the stripe its ID picks, so cores ending
// spans of one hot name rarely fight over a cache line.
type nameCounters struct {
	stripes [numStripes]stripe
	name    string
}

type stripe struct {
	kinds [numKinds]counters // 192 bytes: three whole cache lines
}

// stripeOf picks the stripe of a span (or trace) ID's low byte.
func stripeOf(b byte) int { return int(b) & (numStripes - 1) }

// sum returns the counters of kind k, summed over the stripes.
func (nc *nameCounters) sum(k int) (completed, started, ended, dropped uint64) {
	for i := range nc.stripes {
		c := &nc.stripes[i].kinds[k]
		// ended before started, so that started-ended is never negative.
		e := c.ended.Load()
		completed, started, ended, dropped = completed+c.completed.Load(), started+c.started.Load(), ended+e, dropped+c.dropped.Load()
	}
	return completed, started, ended, dropped
}

// entry is a tracked active span. The monitor keeps the span itself and reads its name, kind,
// start and parent only off the span path (Stats, the page, the leak check), so that a span's
// start costs the monitor no read of the span; the span's own lock makes those reads safe.
type entry struct {
	span     sdktrace.ReadWriteSpan
	trace    uint64 // half the trace ID, checked on removal without a call into the span
	reported bool
}

// shard holds a part of the active list. Most spans end soon after they start, so a span
// first goes to a direct-mapped slot chosen by its ID (no hashing, no allocation); only when
// that slot is taken does it go to the shard's map. Both are under the shard's mutex, and so
// is the counting of a listed span's end: Stats, holding every shard, sees each span either
// in the list or in the counters, never in both or neither.
type shard struct {
	mu  sync.Mutex
	n   int // spans held, in slots and map
	cap int // this shard's share of WithMaxTracked
	// last is the counters of the name last ended here, and pend the ends counted for it but
	// not yet added to them: span names repeat, so most ends cost a compare and an increment
	// on this line (the mutex is on it) rather than a map lookup and an atomic add. Stats and a
	// change of name flush pend.
	last  *nameCounters
	pend  [numKinds]uint32
	slots [1 << slotBits]slot
	spans map[uint64]entry // nil until a slot collision needs it
	high  int              // the most the map has held since it was made
	// recent is a ring of the spans that ended here last, where an example request's spans are
	// found when its root ends (see keep); nil WithoutLatency.
	recent []recentSpan
	rpos   int
}

type slot struct {
	key uint64 // the span ID; 0 (never a valid ID) marks a free slot
	e   entry
}

// put adds e and reports whether it did: a second live span with the same ID (a broken ID
// generator's) is not listed, so the first stays findable.
func (sh *shard) put(key uint64, idx int, e entry) bool {
	sl := &sh.slots[idx]
	switch sl.key {
	case 0:
		sl.key, sl.e = key, e
		sh.n++
		return true
	case key:
		return false
	}
	if _, dup := sh.spans[key]; dup {
		return false
	}
	if sh.spans == nil {
		sh.spans = make(map[uint64]entry)
	}
	sh.spans[key] = e
	sh.high = max(sh.high, len(sh.spans))
	sh.n++
	return true
}

// take removes the span with this ID (not 0) and trace (half of it) and reports whether it
// was listed.
func (sh *shard) take(key uint64, idx int, tid uint64) bool {
	if sl := &sh.slots[idx]; sl.key == key && sl.e.trace == tid {
		*sl = slot{} // drop the span, so a free slot pins nothing
		sh.n--
		return true
	}
	e, ok := sh.spans[key]
	if !ok || e.trace != tid {
		return false
	}
	delete(sh.spans, key)
	sh.n--
	if len(sh.spans) == 0 && sh.high > shrinkAbove { // Go maps never shrink by themselves
		sh.spans, sh.high = nil, 0
	}
	return true
}

// scan calls f for every entry. f may change the entry, and reports whether it did: a changed
// entry of the map is stored back, the others cost no map write.
func (sh *shard) scan(f func(key uint64, e *entry) (changed bool)) {
	for i := range sh.slots {
		if sl := &sh.slots[i]; sl.key != 0 {
			f(sl.key, &sl.e)
		}
	}
	var e entry // one variable for the whole map: f's pointer moves it to the heap
	for k, v := range sh.spans {
		if e = v; f(k, &e) {
			sh.spans[k] = e
		}
	}
}

type monitorConfig struct {
	maxTracked    int
	maxNames      int
	leakThreshold time.Duration
	leakInterval  time.Duration
	onLeak        func(ActiveSpan)
	logger        *slog.Logger
	logEvery      time.Duration
	noLatency     bool
	maxRoutes     int
	recentSpans   int
	keptTraces    int
	jaegerUI      string
	jaegerSet     bool
	sections      []section
}

// MonitorOption configures NewMonitor.
type MonitorOption interface {
	applyMonitor(monitorConfig) monitorConfig
}

type monitorOptionFunc func(monitorConfig) monitorConfig

func (f monitorOptionFunc) applyMonitor(c monitorConfig) monitorConfig { return f(c) }

// WithMaxTracked caps the active list at n spans (DefaultMaxTracked; n < 1 keeps the default).
func WithMaxTracked(n int) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.maxTracked = n; return c })
}

// WithMaxNames caps how many distinct span names get their own counters (DefaultMaxNames;
// n < 1 keeps the default).
func WithMaxNames(n int) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.maxNames = n; return c })
}

// WithLeakThreshold sets how long a span may stay active before it is a probable leak
// (DefaultLeakThreshold; d <= 0 keeps the default).
func WithLeakThreshold(d time.Duration) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.leakThreshold = d; return c })
}

// WithLeakCallback calls f once for each tracked span that stays active past the threshold.
// The Monitor then checks every WithLeakCheckInterval in a goroutine that Shutdown stops. f
// runs in that goroutine, never on the span path.
func WithLeakCallback(f func(ActiveSpan)) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.onLeak = f; return c })
}

// WithLeakCheckInterval sets how often the leak callback's check runs: by default half the
// threshold, at most 30s; never more often than every millisecond. d <= 0 keeps the default.
func WithLeakCheckInterval(d time.Duration) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.leakInterval = d; return c })
}

// WithStatsLogger logs the overall counts to l every interval (a minute when every <= 0), and
// once more at Shutdown, from a goroutine that Shutdown stops.
func WithStatsLogger(l *slog.Logger, every time.Duration) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig {
		c.logger, c.logEvery = l, every
		return c
	})
}

// NewMonitor returns a Monitor. If it has a leak callback or a stats logger, it starts one
// goroutine for them; Shutdown (which the tracer provider calls from its own) stops it.
func NewMonitor(opts ...MonitorOption) *Monitor {
	var cfg monitorConfig
	for _, o := range opts {
		if o != nil {
			cfg = o.applyMonitor(cfg)
		}
	}
	if cfg.maxTracked < 1 {
		cfg.maxTracked = DefaultMaxTracked
	}
	if cfg.maxNames < 1 {
		cfg.maxNames = DefaultMaxNames
	}
	if cfg.leakThreshold <= 0 {
		cfg.leakThreshold = DefaultLeakThreshold
	}
	if cfg.leakInterval <= 0 {
		cfg.leakInterval = min(cfg.leakThreshold/2, 30*time.Second)
	}
	cfg.leakInterval = max(cfg.leakInterval, time.Millisecond) // a tiny threshold must not spin
	if cfg.logEvery <= 0 {
		cfg.logEvery = time.Minute
	}
	cfg = latencyDefaults(cfg)
	m := &Monitor{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	// Enough shards to spread the lock over the CPUs, few enough that the slots stay in cache
	// and each shard holds a useful share of the cap.
	for 1<<(m.shardBits+1) <= min(maxShards, 4*runtime.GOMAXPROCS(0)) && cfg.maxTracked>>(m.shardBits+1) >= 32 {
		m.shardBits++
	}
	m.shards = make([]shard, 1<<m.shardBits)
	for i := range m.shards {
		m.shards[i].cap = cfg.maxTracked >> m.shardBits
		if i < cfg.maxTracked&(len(m.shards)-1) {
			m.shards[i].cap++
		}
	}
	if !cfg.noLatency {
		m.lat = newLatencyBook(cfg)
		per := max(cfg.recentSpans>>m.shardBits, 1)
		for i := range m.shards {
			m.shards[i].recent = make([]recentSpan, per)
		}
	}
	m.sections.Store(&cfg.sections)
	m.jaeger, m.jaegerWhy = jaegerBase(cfg.jaegerUI, cfg.jaegerSet)
	m.other.name = otherName
	m.untracked.name = untrackName
	names := make(map[string]*nameCounters)
	m.names.Store(&names)
	if cfg.onLeak != nil || cfg.logger != nil {
		go m.loop()
	} else {
		close(m.done)
	}
	return m
}

func kindIndex(k trace.SpanKind) int {
	if k < 0 || int(k) >= numKinds {
		return 0
	}
	return int(k)
}

// clipName bounds a name kept by the monitor, cutting on a rune boundary. The result shares
// the original's memory: whoever keeps it must copy it (strings.Clone) when it was clipped.
func clipName(name string) string {
	if len(name) <= maxNameLen {
		return name
	}
	cut := maxNameLen
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut]
}

// traceKey is the half of a trace ID that the W3C random flag (when set) says is random.
func traceKey(id trace.TraceID) uint64 {
	return uint64(id[8]) | uint64(id[9])<<8 | uint64(id[10])<<16 | uint64(id[11])<<24 |
		uint64(id[12])<<32 | uint64(id[13])<<40 | uint64(id[14])<<48 | uint64(id[15])<<56
}

func spanKey(id trace.SpanID) uint64 {
	return uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
		uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
}

// place picks a span's shard and slot from its ID. Fibonacci hashing spreads sequential IDs
// (a test's or a custom generator's) as well as random ones.
func (m *Monitor) place(key uint64) (*shard, int) {
	h := key * 0x9E3779B97F4A7C15
	return &m.shards[h>>(64-m.shardBits)], int(h>>(64-m.shardBits-slotBits)) & (1<<slotBits - 1)
}

// namesFor returns the counters of a (clipped) name, creating them while there is room, the
// "(other)" row's after. The read path is an atomic load and a map lookup.
func (m *Monitor) namesFor(name string) *nameCounters {
	names := *m.names.Load()
	if c, ok := names[name]; ok {
		return c
	}
	if len(names) >= m.cfg.maxNames {
		return &m.other
	}
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	names = *m.names.Load()
	if c, ok := names[name]; ok {
		return c
	}
	if len(names) >= m.cfg.maxNames {
		return &m.other
	}
	next := make(map[string]*nameCounters, len(names)+1)
	for k, v := range names {
		next[k] = v
	}
	name = strings.Clone(name) // never pin a long clipped original
	c := &nameCounters{name: name}
	next[name] = c
	m.names.Store(&next)
	return c
}

// OnStart adds the span to the active list, or counts it in the "(untracked)" row when the
// list is full. It implements sdktrace.SpanProcessor.
func (m *Monitor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s == nil || m.shut.Load() {
		return
	}
	sc := s.SpanContext()
	if sc.HasSpanID() {
		key := spanKey(sc.SpanID())
		sh, idx := m.place(key)
		sh.mu.Lock()
		listed := sh.n < sh.cap && sh.put(key, idx, entry{span: s, trace: traceKey(sc.TraceID())})
		sh.mu.Unlock()
		if listed {
			return
		}
		m.overflow.Add(1) // full, or a second live span with the same ID
	}
	m.untracked.stripes[stripeOf(sc.SpanID()[0])].kinds[kindIndex(s.SpanKind())].started.Add(1)
}

// OnEnd forgets the span and counts it under the name it ended with. It implements
// sdktrace.SpanProcessor.
func (m *Monitor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s == nil || m.shut.Load() {
		return
	}
	// Everything comes from the end snapshot, read before the shard lock: its getters copy it
	// (about 350 bytes a call, hot in cache), which measured cheaper than the live span's
	// getters, each a lock and unlock of the span (the monitor's own cost -26 %, see
	// benchmarks/results/spans.md). Name and kind cannot change after the end.
	sc := s.SpanContext()
	stripe := stripeOf(sc.SpanID()[0])
	kind := kindIndex(s.SpanKind())
	if !sc.HasSpanID() {
		m.untracked.stripes[stripe].kinds[kind].ended.Add(1)
		return
	}
	name := clipName(s.Name())
	key := spanKey(sc.SpanID())
	sh, idx := m.place(key)
	tk := traceKey(sc.TraceID())
	sh.mu.Lock()
	if sh.take(key, idx, tk) {
		if sh.last == nil || sh.last.name != name || sh.pend[kind] == math.MaxUint32 {
			m.flush(sh, stripe)
			sh.last = m.namesFor(name)
		}
		sh.pend[kind]++
	} else {
		m.untracked.stripes[stripe].kinds[kind].ended.Add(1)
	}
	if sh.recent != nil {
		sh.recent[sh.rpos] = recentSpan{trace: tk, span: s}
		if sh.rpos++; sh.rpos == len(sh.recent) {
			sh.rpos = 0
		}
	}
	sh.mu.Unlock()
	if m.lat != nil && localRoot(s) {
		m.recordLatency(s, name, kind, s.Status().Code == codes.Error)
	}
}

// flush adds the shard's pending ends to their name's counters. The caller holds sh.mu.
func (m *Monitor) flush(sh *shard, stripe int) {
	if sh.last == nil {
		return
	}
	for k, n := range sh.pend {
		if n > 0 {
			sh.last.stripes[stripe].kinds[k].completed.Add(uint64(n))
		}
	}
	sh.pend = [numKinds]uint32{}
}

func (m *Monitor) countDropped(name string, kind trace.SpanKind, tid trace.TraceID) {
	if m.shut.Load() {
		return
	}
	// The sampler sees the kind as given (unspecified when the caller gave none); a recorded
	// span gets the SDK's validated kind, internal then. Count a dropped span in that row too.
	kind = trace.ValidateSpanKind(kind)
	m.namesFor(clipName(name)).stripes[stripeOf(tid[15])].kinds[kindIndex(kind)].dropped.Add(1)
}

// Shutdown stops the monitor's goroutine, waiting for it until ctx ends, and makes the monitor
// ignore later spans; what it has counted stays readable and served. It implements
// sdktrace.SpanProcessor.
func (m *Monitor) Shutdown(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.shut.Store(true)
		close(m.stop)
	})
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ForceFlush does nothing: the monitor holds no spans for export. It implements
// sdktrace.SpanProcessor.
func (m *Monitor) ForceFlush(context.Context) error { return nil }

func (m *Monitor) loop() {
	defer close(m.done)
	var leakC, logC <-chan time.Time
	if m.cfg.onLeak != nil {
		t := time.NewTicker(m.cfg.leakInterval)
		defer t.Stop()
		leakC = t.C
	}
	if m.cfg.logger != nil {
		t := time.NewTicker(m.cfg.logEvery)
		defer t.Stop()
		logC = t.C
	}
	for {
		select {
		case <-m.stop:
			if m.cfg.logger != nil {
				m.logStats()
			}
			return
		case now := <-leakC:
			for _, a := range m.collect(now, collectNewLeaks, 0) {
				m.cfg.onLeak(a)
			}
		case <-logC:
			m.logStats()
		}
	}
}

func (m *Monitor) logStats() {
	st := m.Stats()
	m.cfg.logger.LogAttrs(context.Background(), slog.LevelInfo, "spans monitor",
		slog.Uint64("created", st.Created),
		slog.Uint64("ended", st.Ended),
		slog.Int64("active", st.Active),
		slog.Uint64("sampled_out", st.SampledOut),
		slog.Int("tracked", st.Tracked),
		slog.Uint64("overflow", st.Overflow),
		slog.Int("leaks", st.Leaks),
	)
}

// ActiveSpan is a span the monitor has seen start and not end.
type ActiveSpan struct {
	TraceID      trace.TraceID
	SpanID       trace.SpanID
	ParentSpanID trace.SpanID // zero for a root span
	Name         string
	Kind         trace.SpanKind
	Start        time.Time
	Age          time.Duration
	Leak         bool // active for longer than the leak threshold
}

// Which spans collect returns.
const (
	collectAll      = iota
	collectLeaks    // active past the threshold
	collectNewLeaks // the leaks not reported before, which it marks reported
)

// collect returns up to limit tracked spans (all when limit < 1), oldest first. Under each
// shard's lock it reads only the start times; the other fields are read afterwards, and only
// for the spans it returns.
func (m *Monitor) collect(now time.Time, which, limit int) []ActiveSpan {
	type found struct {
		start int64 // Unix nanoseconds: sorts faster than a time.Time
		key   uint64
		span  sdktrace.ReadWriteSpan
	}
	var picked []found
	if which == collectAll {
		n := 0
		for i := range m.shards {
			m.shards[i].mu.Lock()
			n += m.shards[i].n
			m.shards[i].mu.Unlock()
		}
		picked = make([]found, 0, n)
	}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.scan(func(k uint64, e *entry) bool {
			start := e.span.StartTime()
			leak := now.Sub(start) > m.cfg.leakThreshold
			switch {
			case which != collectAll && !leak, which == collectNewLeaks && e.reported:
				return false
			}
			picked = append(picked, found{start: start.UnixNano(), key: k, span: e.span})
			if which == collectNewLeaks {
				e.reported = true
				return true
			}
			return false
		})
		sh.mu.Unlock()
	}
	if which == collectNewLeaks {
		m.leaksSent.Add(uint64(len(picked)))
	}
	slices.SortFunc(picked, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.key, b.key))
	})
	if limit > 0 && len(picked) > limit {
		picked = picked[:limit]
	}
	out := make([]ActiveSpan, len(picked))
	for i, f := range picked {
		start := time.Unix(0, f.start)
		age := now.Sub(start)
		out[i] = ActiveSpan{
			TraceID: f.span.SpanContext().TraceID(), SpanID: idOf(f.key), Name: clipName(f.span.Name()),
			Kind: f.span.SpanKind(), Start: start, Age: age, Leak: age > m.cfg.leakThreshold,
		}
		if p := f.span.Parent(); p.TraceID() == out[i].TraceID {
			out[i].ParentSpanID = p.SpanID()
		}
	}
	return out
}

// ActiveSpans returns up to limit tracked active spans, oldest first (all of them when
// limit < 1).
func (m *Monitor) ActiveSpans(limit int) []ActiveSpan {
	return m.collect(time.Now(), collectAll, limit)
}

// Leaks returns the tracked spans active for longer than the leak threshold, oldest first.
func (m *Monitor) Leaks() []ActiveSpan {
	return m.collect(time.Now(), collectLeaks, 0)
}

// Counts are the span counts of one group of spans.
type Counts struct {
	Created    uint64 // spans started (recording spans only)
	Ended      uint64
	Active     int64  // Created - Ended
	SampledOut uint64 // spans the Sampler wrapper saw dropped; never started, never active
}

func (c Counts) add(o Counts) Counts {
	return Counts{
		Created: c.Created + o.Created, Ended: c.Ended + o.Ended,
		Active: c.Active + o.Active, SampledOut: c.SampledOut + o.SampledOut,
	}
}

// KindStats are the counts of one span kind.
type KindStats struct {
	Kind trace.SpanKind
	Counts
}

// NameStats are the counts of one span name and kind. A span counts under the name it has:
// while active, its current name; once ended, the name it ended with (so a server span renamed
// to its route, as otelhttp and otelctx's middleware do, counts under the route). The rows
// named "(other)" with Other set gather, by kind, the names that came after WithMaxNames was
// reached; the rows named "(untracked)" with Untracked set count, by kind, the spans the active
// list could not take (see Monitor), whose names the monitor does not read.
type NameStats struct {
	Name      string
	Kind      trace.SpanKind
	Other     bool
	Untracked bool
	Counts
}

// Stats is a snapshot of the monitor's counts.
type Stats struct {
	Time time.Time
	Counts
	Tracked       int    // spans in the active list
	MaxTracked    int    // the cap on the active list
	Overflow      uint64 // spans that found the active list full (counted, not listed)
	Leaks         int    // tracked spans active past the threshold now
	LeaksReported uint64 // spans passed to the leak callback so far
	LeakThreshold time.Duration
	ByKind        []KindStats // kinds that have seen spans
	ByName        []NameStats // sorted by name, then kind
}

func idOf(key uint64) trace.SpanID {
	var id trace.SpanID
	for i := range id {
		id[i] = byte(key >> (8 * i))
	}
	return id
}

// Stats returns the current counts. Each span is counted once: Stats holds every shard of the
// active list while it copies the listed spans out and reads the counters, which stalls the
// starts and ends of spans for that long (measured here: about 10 µs with 300 active spans,
// 0.3–0.4 ms with 10,000; a whole Stats call takes 40 µs and 2 ms, see BenchmarkMonitorStats),
// and reads the listed spans' names afterwards, so a span renamed meanwhile counts under its
// new name. Spans that start untracked while it runs
// may or may not be in it.
func (m *Monitor) Stats() Stats {
	type nameKind struct {
		name string
		kind int
	}
	now := time.Now()
	st := Stats{
		Time:          now,
		MaxTracked:    m.cfg.maxTracked,
		LeaksReported: m.leaksSent.Load(),
		LeakThreshold: m.cfg.leakThreshold,
	}
	// Hold every shard only while copying the listed spans out and reading the counters; the
	// spans' names, kinds and start times are read after, from the copies.
	for i := range m.shards {
		m.shards[i].mu.Lock()
		st.Tracked += m.shards[i].n
	}
	listed := make([]sdktrace.ReadWriteSpan, 0, st.Tracked)
	for i := range m.shards {
		sh := &m.shards[i]
		m.flush(sh, stripeOf(byte(i)))
		sh.scan(func(_ uint64, e *entry) bool {
			listed = append(listed, e.span)
			return false
		})
	}
	st.Overflow = m.overflow.Load()
	names := *m.names.Load()
	type row struct {
		nc              *nameCounters
		completed, drop [numKinds]uint64
	}
	read := func(nc *nameCounters) row {
		r := row{nc: nc}
		for k := range numKinds {
			r.completed[k], _, _, r.drop[k] = nc.sum(k)
		}
		return r
	}
	rows := make([]row, 0, len(names))
	for _, nc := range names {
		rows = append(rows, read(nc))
	}
	other := read(&m.other)
	var untracked [numKinds]Counts
	for k := range numKinds {
		_, started, ended, _ := m.untracked.sum(k)
		untracked[k] = Counts{Created: started, Ended: ended, Active: int64(started - ended)}
	}
	for i := range m.shards {
		m.shards[i].mu.Unlock()
	}

	live := make(map[nameKind]int64)
	for _, s := range listed {
		live[nameKind{clipName(s.Name()), kindIndex(s.SpanKind())}]++
		if now.Sub(s.StartTime()) > m.cfg.leakThreshold {
			st.Leaks++
		}
	}
	var byKind [numKinds]Counts
	st.ByName = make([]NameStats, 0, len(rows)+len(live)+2*numKinds)
	add := func(ns NameStats) {
		if ns.Counts == (Counts{}) {
			return
		}
		byKind[ns.Kind] = byKind[ns.Kind].add(ns.Counts)
		st.ByName = append(st.ByName, ns)
	}
	counts := func(completed, drop uint64, active int64) Counts {
		return Counts{Created: completed + uint64(active), Ended: completed, Active: active, SampledOut: drop}
	}
	for _, r := range rows {
		for k := range numKinds {
			nk := nameKind{r.nc.name, k}
			add(NameStats{Name: r.nc.name, Kind: trace.SpanKind(k), Counts: counts(r.completed[k], r.drop[k], live[nk])})
			delete(live, nk)
		}
	}
	// Active spans whose names have no counters yet get rows while the cap allows, in name
	// order, as names that end would; the rest join "(other)".
	var otherLive [numKinds]int64
	room := max(m.cfg.maxNames-len(rows), 0)
	rest := slices.SortedFunc(maps.Keys(live), func(a, b nameKind) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.kind, b.kind))
	})
	for i, nk := range rest {
		if i > 0 && rest[i-1].name != nk.name {
			room--
		}
		if room <= 0 {
			otherLive[nk.kind] += live[nk]
			continue
		}
		add(NameStats{Name: nk.name, Kind: trace.SpanKind(nk.kind), Counts: counts(0, 0, live[nk])})
	}
	slices.SortFunc(st.ByName, func(a, b NameStats) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	for k := range numKinds {
		add(NameStats{Name: otherName, Kind: trace.SpanKind(k), Other: true, Counts: counts(other.completed[k], other.drop[k], otherLive[k])})
	}
	for k := range numKinds {
		add(NameStats{Name: untrackName, Kind: trace.SpanKind(k), Untracked: true, Counts: untracked[k]})
	}
	for k, c := range byKind {
		st.Counts = st.Counts.add(c)
		if c != (Counts{}) {
			st.ByKind = append(st.ByKind, KindStats{Kind: trace.SpanKind(k), Counts: c})
		}
	}
	return st
}

// Sampler wraps s so that the monitor counts the spans s drops (Stats' SampledOut, by kind and
// by name): the SDK never starts those, so no span processor can see them. A nil s is the SDK's
// default, ParentBased(AlwaysSample()). Pass the result to ctxtrail.WithSampler, or pass
// mon.Sampler itself to ctxtrail.WithSamplerWrapper to wrap the sampler Install picks from
// OTEL_TRACES_SAMPLER (jaeger_remote included).
func (m *Monitor) Sampler(s sdktrace.Sampler) sdktrace.Sampler {
	if s == nil {
		s = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	return &countingSampler{Sampler: s, m: m}
}

type countingSampler struct {
	sdktrace.Sampler
	m *Monitor
}

func (c *countingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	r := c.Sampler.ShouldSample(p)
	if r.Decision == sdktrace.Drop {
		c.m.countDropped(p.Name, p.Kind, p.TraceID)
	}
	return r
}

func (c *countingSampler) Description() string {
	return "spans.Monitor.Sampler{" + c.Sampler.Description() + "}"
}
