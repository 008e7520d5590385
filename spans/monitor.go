package spans

import (
	"cmp"
	"context"
	"html/template"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/otelctx"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
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
// otelctx.WithSpanProcessor. The monitor adds some 150–300 ns a span, 10–20 % on top of a bare
// SDK span with a batch processor (benchmarks/results/spans.md), and never allocates.
//
// Memory is bounded however many spans leak:
//   - at most WithMaxTracked spans are kept in the active list; the spans started while it is
//     full are counted as overflow (and still as created, ended and active). The list is split
//     by span ID among up to 64 shards, each with its share of the cap, so a few spans may
//     overflow shortly before the whole list is full;
//   - at most WithMaxNames distinct span names get counters (under 1 KiB each); later names
//     share the "(other)" rows;
//   - names are clipped to 256 bytes, and ended spans are forgotten at once.
//
// Like every span processor it sees recording spans only; Sampler counts the others.
type Monitor struct {
	cfg monitorConfig

	shards    []shard
	shardBits int // len(shards) == 1<<shardBits
	overflow  atomic.Uint64
	names     atomic.Pointer[map[string]*nameCounters] // copy on write; read without a lock
	namesMu   sync.Mutex
	other     nameCounters
	leaksSent atomic.Uint64

	exportStats atomic.Pointer[func() otelctx.Stats] // SetExportStats

	shut     atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	pageOnce sync.Once
	page     *template.Template
	pageErr  error
}

var _ sdktrace.SpanProcessor = (*Monitor)(nil)

type counters struct {
	created, ended, dropped atomic.Uint64
}

// nameCounters are the counters of one span name, by kind. Overall and by-kind counts are sums
// of these, so a span touches one counter at start and one at end. The counters are striped:
// a span counts in the stripe its ID picks, so cores starting and ending spans of one hot name
// rarely fight over a cache line.
type nameCounters struct {
	stripes [numStripes]stripe
	name    string
}

type stripe struct {
	kinds [numKinds]counters
	_     [192 - numKinds*24]byte // a stripe is three whole cache lines
}

// stripeOf picks the stripe of a span (or trace) ID's low byte.
func stripeOf(b byte) int { return int(b) & (numStripes - 1) }

// kind returns the counts of kind k, summed over the stripes.
func (nc *nameCounters) kind(k int) Counts {
	var c Counts
	for i := range nc.stripes {
		c = c.add(nc.stripes[i].kinds[k].counts())
	}
	return c
}

// entry is a tracked active span. Slots and maps are keyed by the span ID alone (a uint64);
// the trace ID is checked on removal.
type entry struct {
	trace    trace.TraceID
	name     string
	counters *counters
	start    int64 // Unix nanoseconds: a third of a time.Time, and no pointer
	parent   trace.SpanID
	kind     int8 // a trace.SpanKind; entries stay at one cache line
	reported bool
}

// shard holds a part of the active list. Most spans end soon after they start, so a span
// first goes to a direct-mapped slot chosen by its ID (no hashing, no allocation); only when
// that slot is taken does it go to the shard's map. Both are under the shard's mutex.
type shard struct {
	mu  sync.Mutex
	n   int // spans held, in slots and map
	cap int // this shard's share of WithMaxTracked
	// last is the counters of the name last started here: span names repeat, and this line is
	// in cache (the mutex is on it) when the names map may not be.
	last  *nameCounters
	slots [1 << slotBits]slot
	spans map[uint64]entry // nil until a slot collision needs it
	high  int              // the most the map has held since it was made
}

type slot struct {
	key uint64 // the span ID; 0 (never a valid ID) marks a free slot
	e   entry
}

// put adds e and reports whether the list grew: a second live span with the same ID replaces
// the first.
func (sh *shard) put(key uint64, idx int, e entry) bool {
	sl := &sh.slots[idx]
	switch sl.key {
	case 0:
		sl.key, sl.e = key, e
		sh.n++
		return true
	case key:
		sl.e = e
		return false
	}
	if sh.spans == nil {
		sh.spans = make(map[uint64]entry)
	}
	n := len(sh.spans)
	sh.spans[key] = e
	sh.high = max(sh.high, len(sh.spans))
	if len(sh.spans) > n {
		sh.n++
		return true
	}
	return false
}

// take removes and returns the entry of the span with this ID and trace.
func (sh *shard) take(key uint64, idx int, tid trace.TraceID) (entry, bool) {
	if sl := &sh.slots[idx]; sl.key == key && sl.e.trace == tid {
		e := sl.e
		*sl = slot{} // drop the name, so a free slot pins nothing
		sh.n--
		return e, true
	}
	e, ok := sh.spans[key]
	if !ok || e.trace != tid {
		return entry{}, false
	}
	delete(sh.spans, key)
	sh.n--
	if len(sh.spans) == 0 && sh.high > shrinkAbove { // Go maps never shrink by themselves
		sh.spans, sh.high = nil, 0
	}
	return e, true
}

// scan calls f for every entry; f may change the entry.
func (sh *shard) scan(f func(key uint64, e *entry)) {
	for i := range sh.slots {
		if sl := &sh.slots[i]; sl.key != 0 {
			f(sl.key, &sl.e)
		}
	}
	for k, e := range sh.spans {
		f(k, &e)
		sh.spans[k] = e
	}
}

type monitorConfig struct {
	maxTracked    int
	maxNames      int
	leakThreshold time.Duration
	leakInterval  time.Duration
	onLeak        func(ActiveSpan)
	logger        *zap.Logger
	logEvery      time.Duration
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
func WithStatsLogger(l *zap.Logger, every time.Duration) MonitorOption {
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
	m.other.name = otherName
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

// countersFor returns the counters of a (clipped) name and kind in a stripe, creating the
// name's while there is room. The read path is an atomic load and a map lookup.
func (m *Monitor) countersFor(name string, kind trace.SpanKind, stripe int) *counters {
	return &m.namesFor(name).stripes[stripe].kinds[kindIndex(kind)]
}

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

// OnStart counts the span and adds it to the active list. It implements sdktrace.SpanProcessor.
func (m *Monitor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if s == nil || m.shut.Load() {
		return
	}
	sc := s.SpanContext()
	kind := s.SpanKind()
	full := s.Name()
	name := clipName(full)
	stripe := stripeOf(sc.SpanID()[0])
	if !sc.HasSpanID() { // not from the SDK's generator; nothing to key it by
		m.countersFor(name, kind, stripe).created.Add(1)
		return
	}
	if len(name) < len(full) {
		name = strings.Clone(name)
	}
	e := entry{trace: sc.TraceID(), name: name, start: s.StartTime().UnixNano(), kind: int8(kindIndex(kind))}
	if parent != nil {
		// The SDK took the parent from this context (a new root has a new trace ID); reading it
		// here spares the span's lock that s.Parent() takes.
		if psc := trace.SpanContextFromContext(parent); psc.IsValid() && psc.TraceID() == sc.TraceID() {
			e.parent = psc.SpanID()
		}
	}
	key := spanKey(sc.SpanID())
	sh, idx := m.place(key)
	sh.mu.Lock()
	nc := sh.last
	if nc == nil || nc.name != name {
		if nc = m.namesFor(name); nc != &m.other {
			sh.last = nc
		}
	}
	e.counters = &nc.stripes[stripe].kinds[e.kind]
	grew := sh.n < sh.cap && sh.put(key, idx, e)
	sh.mu.Unlock()
	e.counters.created.Add(1)
	if !grew { // full, or a second live span with the same ID (which replaced the first)
		m.overflow.Add(1)
	}
}

// OnEnd counts the span as ended and forgets it. It implements sdktrace.SpanProcessor.
func (m *Monitor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s == nil || m.shut.Load() {
		return
	}
	sc := s.SpanContext()
	key := spanKey(sc.SpanID())
	sh, idx := m.place(key)
	sh.mu.Lock()
	e, ok := sh.take(key, idx, sc.TraceID())
	sh.mu.Unlock()

	c := e.counters // the counters it started under, even if it was renamed since
	if !ok {
		c = m.countersFor(clipName(s.Name()), s.SpanKind(), stripeOf(sc.SpanID()[0]))
	}
	c.ended.Add(1)
}

func (m *Monitor) countDropped(name string, kind trace.SpanKind, tid trace.TraceID) {
	if m.shut.Load() {
		return
	}
	m.countersFor(clipName(name), kind, stripeOf(tid[15])).dropped.Add(1)
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
			for _, a := range m.collect(now, true) {
				m.cfg.onLeak(a)
			}
		case <-logC:
			m.logStats()
		}
	}
}

func (m *Monitor) logStats() {
	st := m.Stats()
	m.cfg.logger.Info("spans monitor",
		zap.Uint64("created", st.Created),
		zap.Uint64("ended", st.Ended),
		zap.Int64("active", st.Active),
		zap.Uint64("sampled_out", st.SampledOut),
		zap.Int("tracked", st.Tracked),
		zap.Uint64("overflow", st.Overflow),
		zap.Int("leaks", st.Leaks),
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

// collect returns tracked spans, oldest first: all of them, or with onlyNewLeaks the leaks not
// reported before, which it marks reported.
func (m *Monitor) collect(now time.Time, onlyNewLeaks bool) []ActiveSpan {
	var out []ActiveSpan
	if !onlyNewLeaks {
		n := 0
		for i := range m.shards {
			sh := &m.shards[i]
			sh.mu.Lock()
			n += sh.n
			sh.mu.Unlock()
		}
		out = make([]ActiveSpan, 0, n)
	}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.scan(func(k uint64, e *entry) {
			start := time.Unix(0, e.start)
			age := now.Sub(start)
			leak := age > m.cfg.leakThreshold
			if onlyNewLeaks {
				if !leak || e.reported {
					return
				}
				e.reported = true
			}
			out = append(out, ActiveSpan{
				TraceID: e.trace, SpanID: idOf(k), ParentSpanID: e.parent,
				Name: e.name, Kind: trace.SpanKind(e.kind), Start: start, Age: age, Leak: leak,
			})
		})
		sh.mu.Unlock()
	}
	if onlyNewLeaks {
		m.leaksSent.Add(uint64(len(out)))
	}
	slices.SortFunc(out, func(a, b ActiveSpan) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// ActiveSpans returns up to limit tracked active spans, oldest first (all of them when
// limit < 1).
func (m *Monitor) ActiveSpans(limit int) []ActiveSpan {
	out := m.collect(time.Now(), false)
	if limit > 0 && len(out) > limit {
		out = slices.Clip(out[:limit])
	}
	return out
}

// Leaks returns the tracked spans active for longer than the leak threshold, oldest first.
func (m *Monitor) Leaks() []ActiveSpan {
	all := m.collect(time.Now(), false)
	return slices.DeleteFunc(all, func(a ActiveSpan) bool { return !a.Leak })
}

// Counts are the span counts of one group of spans.
type Counts struct {
	Created    uint64 // spans started (recording spans only)
	Ended      uint64
	Active     int64  // Created - Ended
	SampledOut uint64 // spans the Sampler wrapper saw dropped; never started, never active
}

func (c *counters) counts() Counts {
	ended := c.ended.Load() // before created, so that Active is never negative
	created := c.created.Load()
	return Counts{Created: created, Ended: ended, Active: int64(created - ended), SampledOut: c.dropped.Load()}
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

// NameStats are the counts of one span name and kind. The rows named "(other)" with Other set
// gather, by kind, the names that came after WithMaxNames was reached.
type NameStats struct {
	Name  string
	Kind  trace.SpanKind
	Other bool
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

// Stats returns the current counts. Counts read while spans start and end concurrently are each
// exact but not taken at one instant.
func (m *Monitor) Stats() Stats {
	now := time.Now()
	st := Stats{
		Time:          now,
		MaxTracked:    m.cfg.maxTracked,
		Overflow:      m.overflow.Load(),
		LeaksReported: m.leaksSent.Load(),
		LeakThreshold: m.cfg.leakThreshold,
	}
	var byKind [numKinds]Counts
	rows := func(nc *nameCounters, other bool) {
		for k := range numKinds {
			c := nc.kind(k)
			if c == (Counts{}) {
				continue
			}
			byKind[k] = byKind[k].add(c)
			st.ByName = append(st.ByName, NameStats{Name: nc.name, Kind: trace.SpanKind(k), Other: other, Counts: c})
		}
	}
	names := *m.names.Load()
	st.ByName = make([]NameStats, 0, len(names)+1)
	for _, nc := range names {
		rows(nc, false)
	}
	slices.SortFunc(st.ByName, func(a, b NameStats) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	rows(&m.other, true)
	for k, c := range byKind {
		st.Counts = st.Counts.add(c)
		if c != (Counts{}) {
			st.ByKind = append(st.ByKind, KindStats{Kind: trace.SpanKind(k), Counts: c})
		}
	}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		st.Tracked += sh.n
		sh.scan(func(_ uint64, e *entry) {
			if now.Sub(time.Unix(0, e.start)) > m.cfg.leakThreshold {
				st.Leaks++
			}
		})
		sh.mu.Unlock()
	}
	return st
}

// Sampler wraps s so that the monitor counts the spans s drops (Stats' SampledOut, by kind and
// by name): the SDK never starts those, so no span processor can see them. A nil s is the SDK's
// default, ParentBased(AlwaysSample()). Pass the result to otelctx.WithSampler.
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
