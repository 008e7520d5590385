package evidence

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
)

// LeftBehind is one route's goroutines left behind by its finished requests.
type LeftBehind struct {
	Route string `json:"route"`
	// Count is how many goroutines still carried the labels of a finished request of the route
	// at the last census, grace after it saw the request finished.
	Count int `json:"count"`
	// Leaked is how many of the route's goroutines the runtime's goroutineleak profile found
	// blocked forever (0 where the runtime has no such profile).
	Leaked         int    `json:"leaked"`
	ExampleTraceID string `json:"example_trace_id,omitempty"`
	ExampleSpanID  string `json:"example_span_id,omitempty"`
	// Started is the function the goroutine was started with (its outermost frame outside the
	// runtime and sync, so that a goroutine started by sync.WaitGroup.Go names the caller's).
	Started string `json:"started,omitempty"`
	// Stack is one such goroutine's stack, innermost first, "function file:line" a frame.
	Stack []string `json:"stack,omitempty"`
}

// DefaultIgnore are the start functions of goroutines that outlive requests by design:
// connection pools' loops, which a request that dials a new connection starts, and which so
// inherit its labels. WithLeftBehindIgnore adds to them.
var DefaultIgnore = []string{
	"net/http.(*persistConn).",
	"net/http.(*http2ClientConn).",
	"net/http.(*http2Transport).",
	"golang.org/x/net/http2.(*ClientConn).",
	"google.golang.org/grpc/",
	"database/sql.(*DB).",
}

// CensusStats is what the census costs.
type CensusStats struct {
	Rounds        int64         `json:"rounds"`
	Goroutines    int           `json:"goroutines"` // at the last round
	LastDuration  time.Duration `json:"last_duration_ns"`
	LeakProfile   bool          `json:"leak_profile"` // the runtime has the goroutineleak profile
	TrackedEnded  int           `json:"tracked_ended"`
	DroppedEnded  int64         `json:"dropped_ended"` // finished requests past the tracking bound, not followed
	LastRoundTime time.Time     `json:"last_round"`
}

// maxTracked bounds the finished requests whose goroutines the census follows, and maxRoutes the
// routes it reports.
const (
	maxTracked = 100_000
	maxRoutes  = 1000
)

type census struct {
	ignore   []string
	grace    time.Duration
	inflight *inflight
	now      func() time.Time

	run       sync.Mutex // one round at a time; what follows until mu, only a round touches
	buf       bytes.Buffer
	firstSeen map[uint64]time.Time // finished requests with goroutines, when first seen finished
	known     map[string]struct{}  // every route reported, so that its count can go back to 0

	mu     sync.Mutex // what snapshot reads
	result []LeftBehind
	stats  CensusStats
}

func newCensus(grace time.Duration, f *inflight, ignore []string) *census {
	return &census{
		ignore: ignore, grace: grace, inflight: f, now: time.Now,
		firstSeen: make(map[uint64]time.Time),
		known:     make(map[string]struct{}),
	}
}

func (c *census) loop(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.round()
		}
	}
}

// round takes one census.
func (c *census) round() {
	c.run.Lock()
	defer c.run.Unlock()
	start := time.Now()
	now := c.now()
	c.buf.Reset()
	if err := pprof.Lookup("goroutine").WriteTo(&c.buf, 1); err != nil {
		return
	}
	total := pprof.Lookup("goroutine").Count()
	byRoute := map[string]*LeftBehind{}
	seen := map[uint64]bool{}
	dropped := int64(0)
	parseGoroutines(c.buf.Bytes(), func(g goroutineGroup) {
		key, ok := spanKey(g.labels[LabelSpanID])
		if !ok || c.inflight.has(key) || c.ignored(g.frames) {
			return
		}
		seen[key] = true
		first, tracked := c.firstSeen[key]
		if !tracked {
			if len(c.firstSeen) >= maxTracked {
				dropped++
				return
			}
			c.firstSeen[key] = now
			first = now
		}
		if now.Sub(first) < c.grace {
			return
		}
		lb := c.routeEntry(byRoute, g)
		if lb == nil {
			return
		}
		lb.Count += g.count
	})
	for k := range c.firstSeen {
		if !seen[k] {
			delete(c.firstSeen, k)
		}
	}

	leakProfile := pprof.Lookup("goroutineleak")
	if leakProfile != nil {
		c.buf.Reset()
		if err := leakProfile.WriteTo(&c.buf, 1); err == nil {
			parseGoroutines(c.buf.Bytes(), func(g goroutineGroup) {
				if _, ok := g.labels[LabelRoute]; !ok {
					return
				}
				if lb := c.routeEntry(byRoute, g); lb != nil {
					lb.Leaked += g.count
				}
			})
		}
	}

	res := make([]LeftBehind, 0, len(c.known))
	for route := range c.known {
		if lb := byRoute[route]; lb != nil {
			res = append(res, *lb)
		} else {
			res = append(res, LeftBehind{Route: route})
		}
	}
	sort.Slice(res, func(i, j int) bool {
		if res[i].Count != res[j].Count {
			return res[i].Count > res[j].Count
		}
		return res[i].Route < res[j].Route
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.result = res
	c.stats.Rounds++
	c.stats.Goroutines = total
	c.stats.LastDuration = time.Since(start)
	c.stats.LeakProfile = leakProfile != nil
	c.stats.TrackedEnded = len(c.firstSeen)
	c.stats.DroppedEnded += dropped
	c.stats.LastRoundTime = now
}

// routeEntry returns the route's entry in byRoute, creating it (with this group as the example)
// if the route is new; nil past maxRoutes. c.run is held.
func (c *census) routeEntry(byRoute map[string]*LeftBehind, g goroutineGroup) *LeftBehind {
	labels := g.labels
	route := labels[LabelRoute]
	if route == "" {
		route = unknownRoute
	}
	if lb := byRoute[route]; lb != nil {
		if lb.ExampleTraceID == "" && labels[LabelTraceID] != "" { // prefer a sampled request
			lb.ExampleTraceID, lb.ExampleSpanID = labels[LabelTraceID], labels[LabelSpanID]
		}
		return lb
	}
	if _, ok := c.known[route]; !ok {
		if len(c.known) >= maxRoutes {
			return nil
		}
		c.known[route] = struct{}{}
	}
	lb := &LeftBehind{Route: route, ExampleTraceID: labels[LabelTraceID], ExampleSpanID: labels[LabelSpanID],
		Started: startFunc(g.frames), Stack: append([]string(nil), g.frames...)}
	byRoute[route] = lb
	return lb
}

func (c *census) snapshot() ([]LeftBehind, CensusStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]LeftBehind, len(c.result))
	for i, lb := range c.result {
		lb.Stack = append([]string(nil), lb.Stack...)
		out[i] = lb
	}
	return out, c.stats
}

// ignored reports whether a goroutine with these frames was started by one of c.ignore.
func (c *census) ignored(frames []string) bool {
	for _, f := range frames {
		for _, prefix := range c.ignore {
			if strings.HasPrefix(f, prefix) {
				return true
			}
		}
	}
	return false
}

// startFunc is the outermost frame's function outside the runtime and sync.
func startFunc(frames []string) string {
	for i := len(frames) - 1; i >= 0; i-- {
		fn, _, _ := strings.Cut(frames[i], " ")
		if !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "sync.") {
			return fn
		}
	}
	return ""
}

func spanKey(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:]), true
}
