package requestpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Load bounds one run of the load generator.
type Load struct {
	Requests    int           // requests per run; at most MaxRequests
	Concurrency int           // keep-alive client connections, each a goroutine; at most MaxConcurrency
	TimeCap     time.Duration // a run stops here even if Requests were not all sent
}

// Bounds of a Load, so that a bad flag cannot make the generator hold unbounded memory.
const (
	MaxRequests    = 1 << 20
	MaxConcurrency = 256
)

// ErrLoad is returned for a Load outside its bounds.
var ErrLoad = errors.New("requestpath: bad load")

func (l Load) check() error {
	switch {
	case l.Requests < 1 || l.Requests > MaxRequests:
		return fmt.Errorf("%w: requests %d not in [1, %d]", ErrLoad, l.Requests, MaxRequests)
	case l.Concurrency < 1 || l.Concurrency > MaxConcurrency:
		return fmt.Errorf("%w: concurrency %d not in [1, %d]", ErrLoad, l.Concurrency, MaxConcurrency)
	case l.TimeCap <= 0:
		return fmt.Errorf("%w: time cap %v", ErrLoad, l.TimeCap)
	}
	return nil
}

// Sample is what one run measured.
type Sample struct {
	Variant  Variant
	Requests int // completed with status 200
	Errors   int
	Capped   bool // the time cap ended the run
	Wall     time.Duration
	CPU      time.Duration // process CPU time, user + system, all threads
	Allocs   uint64        // heap objects allocated
	P50, P99 time.Duration
}

// Metric names one figure of a Sample.
type Metric int

// The figures Compare reports; for all but ReqPerSec, lower is better.
const (
	ReqPerSec Metric = iota + 1
	P50
	P99
	CPUPerReq
	AllocsPerReq
)

// Metrics returns the metrics in table order.
func Metrics() []Metric { return []Metric{ReqPerSec, P50, P99, CPUPerReq, AllocsPerReq} }

// String returns the metric's column name.
func (m Metric) String() string {
	switch m {
	case ReqPerSec:
		return "req/s"
	case P50:
		return "p50"
	case P99:
		return "p99"
	case CPUPerReq:
		return "CPU/req"
	case AllocsPerReq:
		return "allocs/req"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// Value returns metric m of s; 0 when s completed no request.
func (s Sample) Value(m Metric) float64 {
	if s.Requests == 0 {
		return 0
	}
	n := float64(s.Requests)
	switch m {
	case ReqPerSec:
		return n / s.Wall.Seconds()
	case P50:
		return float64(s.P50)
	case P99:
		return float64(s.P99)
	case CPUPerReq:
		return float64(s.CPU) / n
	case AllocsPerReq:
		return float64(s.Allocs) / n
	}
	return 0
}

// Generator sends requests to a service over keep-alive loopback connections. Each request
// carries a traceparent (a fresh trace ID, as if from a gateway) and an x-request-id.
type Generator struct {
	client *http.Client
	tr     *http.Transport
}

// NewGenerator returns a Generator with up to conns idle connections per host. Close it.
func NewGenerator(conns int) *Generator {
	tr := newTransport(conns)
	return &Generator{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr: tr}
}

// Close closes the generator's idle connections.
func (g *Generator) Close() { g.tr.CloseIdleConnections() }

// Do sends one request to url and reads the whole answer.
func (g *Generator) Do(ctx context.Context, url string) (status int, body []byte, hdr http.Header, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("requestpath: request: %w", err)
	}
	var b [55]byte
	req.Header["Traceparent"] = []string{traceparent(b[:])}
	req.Header["X-Request-Id"] = []string{newID()}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("requestpath: send: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, resp.Header, fmt.Errorf("requestpath: read: %w", err)
	}
	return resp.StatusCode, body, resp.Header, nil
}

// traceparent writes a sampled W3C traceparent with random IDs into b (55 bytes).
func traceparent(b []byte) string {
	const digits = "0123456789abcdef"
	copy(b, "00-")
	for i, n := 3, 0; n < 3; n++ {
		v := rand.Uint64()
		for j := 0; j < 16; j++ {
			b[i] = digits[v&0xf]
			v >>= 4
			i++
		}
		if n == 1 {
			b[i] = '-'
			i++
		}
	}
	b[35] = '-'
	copy(b[52:], "-01")
	return string(b[:55])
}

// Run sends l.Requests requests to s from l.Concurrency goroutines, stopping early at the
// time cap, and flushes s's telemetry before the clock stops, so exporting is counted.
func (g *Generator) Run(ctx context.Context, s *Service, l Load) (Sample, error) {
	if err := l.check(); err != nil {
		return Sample{}, err
	}
	url := s.URL()
	lat := make([]time.Duration, l.Requests)
	ok := make([]bool, l.Requests)
	runtime.GC() // each variant starts with a clean heap, not the last one's garbage
	// The cap starts after the collection: a slow GC (the race detector, a loaded machine) must
	// not eat the run's time and leave it with no request sent.
	ctx, cancel := context.WithTimeout(ctx, l.TimeCap)
	defer cancel()
	cpu0, allocs0 := cpuTime(), allocated()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range l.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= l.Requests {
					return
				}
				t0 := time.Now()
				status, _, _, err := g.Do(ctx, url)
				lat[i] = time.Since(t0)
				ok[i] = err == nil && status == http.StatusOK
			}
		}()
	}
	wg.Wait()
	capped := ctx.Err() != nil
	flushErr := s.Flush(context.WithoutCancel(ctx))
	sm := Sample{
		Variant: s.Variant(),
		Capped:  capped,
		Wall:    time.Since(start),
		CPU:     cpuTime() - cpu0,
		Allocs:  allocated() - allocs0,
	}
	done := make([]time.Duration, 0, l.Requests)
	for i, good := range ok {
		if good {
			done = append(done, lat[i])
		} else if i < int(min(next.Load(), int64(l.Requests))) {
			sm.Errors++
		}
	}
	sm.Requests = len(done)
	slices.Sort(done)
	sm.P50, sm.P99 = quantile(done, 0.50), quantile(done, 0.99)
	if flushErr != nil {
		return sm, fmt.Errorf("requestpath: flush %v: %w", s.Variant(), flushErr)
	}
	return sm, nil
}

// quantile returns the q-quantile of sorted (nearest rank); 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// cpuTime returns the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// allocated returns the heap objects allocated so far, without stopping the world.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
