package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/trace"
	"strings"
	"sync"
	"time"
)

// ErrConfig reports a bad option or environment variable; the message names it and the fix.
var ErrConfig = errors.New("evidence: bad configuration")

// ErrFlightRecorderInUse reports that the process already runs a runtime/trace.FlightRecorder
// (the runtime allows one): pass it with WithSharedFlightRecorder.
var ErrFlightRecorderInUse = errors.New("evidence: the process already runs a runtime/trace.FlightRecorder")

// Defaults. The recorder's window is capped at 2 MiB because reading a capture costs about 18 ms
// of CPU per MiB (benchmarks/results/evidence.md): the cap keeps one capture within 50 ms. On a
// busy service that window is shorter than DefaultRecorderMinAge; WithRecorderWindow widens it.
const (
	DefaultGrace            = 5 * time.Second
	DefaultCensusInterval   = 10 * time.Second
	DefaultSlow             = time.Second
	DefaultCapturesPerMin   = 6
	DefaultCaptureBytes     = 64 << 20
	DefaultRecorderMinAge   = 5 * time.Second
	DefaultRecorderMaxBytes = 2 << 20
)

const (
	envArm  = "CTXTRAIL_EVIDENCE"
	envSlow = "CTXTRAIL_EVIDENCE_SLOW"
)

type config struct {
	labels, labelsSet         bool
	leftBehind, leftBehindSet bool
	grace, interval           time.Duration
	ignore                    []string
	flight, flightSet         bool
	slow                      time.Duration
	routeSlow                 map[string]time.Duration
	perMinute                 int
	maxBytes                  int64
	dir                       string
	minAge                    time.Duration
	recMaxBytes               uint64
	shared                    *trace.FlightRecorder
	holdMax                   int
	holdWait                  time.Duration
	errs                      []error
	getenv                    func(string) string
}

// Option configures a Recorder.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithProfileLabels arms the pprof labels (route, trace_id, span_id) on each request's goroutine.
func WithProfileLabels() Option {
	return optionFunc(func(c config) config { c.labels, c.labelsSet = true, true; return c })
}

// WithoutProfileLabels disarms the labels even if CTXTRAIL_EVIDENCE asks for them (and with them
// the left-behind census, which reads them).
func WithoutProfileLabels() Option {
	return optionFunc(func(c config) config {
		c.labels, c.labelsSet, c.leftBehind, c.leftBehindSet = false, true, false, true
		return c
	})
}

// WithLeftBehind arms the census of goroutines left behind by finished requests (and the
// labels it reads): a goroutine still carrying a request's labels grace after the census first
// saw that request finished is counted; the census runs every interval (zero: the defaults,
// DefaultGrace and DefaultCensusInterval).
func WithLeftBehind(grace, interval time.Duration) Option {
	return optionFunc(func(c config) config {
		if grace < 0 || interval < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLeftBehind(%v, %v): want durations >= 0 (0 for the defaults)", ErrConfig, grace, interval))
			return c
		}
		c.leftBehind, c.leftBehindSet = true, true
		c.labels, c.labelsSet = true, true
		c.grace, c.interval = grace, interval
		return c
	})
}

// WithLeftBehindIgnore adds start-function prefixes (such as "example.com/pool.(*Pool).worker")
// of goroutines that outlive requests by design, to DefaultIgnore's: the census does not count
// goroutines whose stack holds one.
func WithLeftBehindIgnore(prefixes ...string) Option {
	return optionFunc(func(c config) config {
		c.ignore = append(append([]string(nil), c.ignore...), prefixes...)
		return c
	})
}

// WithFlightRecorder arms the flight recorder: a request slower than slow (zero: DefaultSlow,
// or CTXTRAIL_EVIDENCE_SLOW), or answered with a 5xx, gets a capture.
func WithFlightRecorder(slow time.Duration) Option {
	return optionFunc(func(c config) config {
		if slow < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithFlightRecorder(%v): want a threshold >= 0 (0 for the default)", ErrConfig, slow))
			return c
		}
		c.flight, c.flightSet = true, true
		if slow > 0 {
			c.slow = slow
		}
		return c
	})
}

// WithRouteThreshold sets the slow threshold of one route (as otelctx.Route names it), over
// WithFlightRecorder's.
func WithRouteThreshold(route string, slow time.Duration) Option {
	return optionFunc(func(c config) config {
		if slow <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithRouteThreshold(%q, %v): want a threshold > 0", ErrConfig, route, slow))
			return c
		}
		m := make(map[string]time.Duration, len(c.routeSlow)+1)
		for k, v := range c.routeSlow {
			m[k] = v
		}
		m[route] = slow
		c.routeSlow = m
		return c
	})
}

// WithCaptureBudget bounds the captures: at most perMinute taken in any minute, and at most
// maxBytes of captures kept (the oldest go first; one larger than maxBytes is not kept). Past
// the budget a capture is counted, not taken.
func WithCaptureBudget(perMinute int, maxBytes int64) Option {
	return optionFunc(func(c config) config {
		if perMinute < 1 || maxBytes < 1 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithCaptureBudget(%d, %d): want at least one capture a minute and one byte", ErrConfig, perMinute, maxBytes))
			return c
		}
		c.perMinute, c.maxBytes = perMinute, maxBytes
		return c
	})
}

// WithCaptureDir also writes each capture to dir as <id>.trace (created if missing).
func WithCaptureDir(dir string) Option {
	return optionFunc(func(c config) config { c.dir = dir; return c })
}

// WithRecorderWindow sets the runtime flight recorder's window: at least minAge of trace kept,
// within maxBytes (runtime/trace.FlightRecorderConfig). minAge should exceed the slowest request
// you want explained.
func WithRecorderWindow(minAge time.Duration, maxBytes uint64) Option {
	return optionFunc(func(c config) config {
		if minAge <= 0 || maxBytes == 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithRecorderWindow(%v, %d): want a positive age and size", ErrConfig, minAge, maxBytes))
			return c
		}
		c.minAge, c.recMaxBytes = minAge, maxBytes
		return c
	})
}

// WithSharedFlightRecorder makes the Recorder snapshot the application's own, already started,
// flight recorder instead of starting one (the runtime allows one a process). A WriteTo of the
// application's at the same moment makes that capture fail, counted.
func WithSharedFlightRecorder(fr *trace.FlightRecorder) Option {
	return optionFunc(func(c config) config { c.shared = fr; return c })
}

// withGetenv replaces os.Getenv, for tests.
func withGetenv(f func(string) string) Option {
	return optionFunc(func(c config) config { c.getenv = f; return c })
}

func newConfig(opts []Option) (config, error) {
	c := config{getenv: os.Getenv}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if err := c.applyEnv(); err != nil {
		c.errs = append(c.errs, err)
	}
	if c.grace == 0 {
		c.grace = DefaultGrace
	}
	if c.interval == 0 {
		c.interval = DefaultCensusInterval
	}
	if c.slow == 0 {
		c.slow = DefaultSlow
	}
	if c.perMinute == 0 {
		c.perMinute, c.maxBytes = DefaultCapturesPerMin, DefaultCaptureBytes
	}
	if c.holdMax == 0 {
		c.holdMax = DefaultHoldSpans
	}
	if c.holdWait == 0 {
		c.holdWait = DefaultHoldWait
	}
	if c.minAge == 0 {
		c.minAge, c.recMaxBytes = DefaultRecorderMinAge, DefaultRecorderMaxBytes
	}
	return c, errors.Join(c.errs...)
}

func (c *config) applyEnv() error {
	if v := strings.TrimSpace(c.getenv(envArm)); v != "" {
		for _, part := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(part)) {
			case "labels":
				if !c.labelsSet {
					c.labels = true
				}
			case "leftbehind":
				if !c.leftBehindSet {
					c.leftBehind = true
					if !c.labelsSet {
						c.labels = true
					}
				}
			case "flight":
				if !c.flightSet {
					c.flight = true
				}
			case "all":
				if !c.labelsSet {
					c.labels = true
				}
				if !c.leftBehindSet {
					c.leftBehind = c.labels
				}
				if !c.flightSet {
					c.flight = true
				}
			case "", "none", "off":
			default:
				return fmt.Errorf("%w: %s=%q: %q is not one of labels, leftbehind, flight, all", ErrConfig, envArm, v, part)
			}
		}
	}
	if v := strings.TrimSpace(c.getenv(envSlow)); v != "" && c.slow == 0 {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: %s=%q: want a positive Go duration such as 500ms", ErrConfig, envSlow, v)
		}
		c.slow = d
	}
	return nil
}

// Recorder gathers the runtime evidence of requests. Create it with New, place its Middleware
// inside httpctx.NewHandler, and call Shutdown when done. Its methods may be called
// concurrently.
type Recorder struct {
	cfg      config
	inflight *inflight // nil unless the census is armed
	census   *census   // nil unless armed
	flight   *flight   // nil unless armed

	stop     chan struct{}
	wg       sync.WaitGroup
	shutOnce sync.Once
}

// New returns a Recorder armed as the options and CTXTRAIL_EVIDENCE say (nothing by default: its
// Middleware then returns the handler it is given). It starts the census and the flight
// recorder if armed; it returns an error wrapping ErrConfig for a bad setting, or
// ErrFlightRecorderInUse when the process already runs a flight recorder.
func New(opts ...Option) (*Recorder, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	r := &Recorder{cfg: cfg, stop: make(chan struct{})}
	if cfg.flight {
		f, err := startFlight(cfg, r.stop, &r.wg)
		if err != nil {
			return nil, err
		}
		r.flight = f
	}
	if cfg.leftBehind {
		r.inflight = newInflight()
		r.census = newCensus(cfg.grace, r.inflight, append(append([]string(nil), DefaultIgnore...), cfg.ignore...))
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.census.loop(cfg.interval, r.stop)
		}()
	}
	return r, nil
}

// Armed reports what is armed.
func (r *Recorder) Armed() (labels, leftBehind, flight bool) {
	if r == nil {
		return false, false, false
	}
	return r.cfg.labels, r.census != nil, r.flight != nil
}

func (r *Recorder) armed() bool {
	return r != nil && (r.cfg.labels || r.flight != nil)
}

// Shutdown stops the census, the capture worker and the flight recorder it started, waiting
// for them until ctx is done. Captures in the store stay readable.
func (r *Recorder) Shutdown(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.shutOnce.Do(func() { close(r.stop) })
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		if r.flight != nil {
			r.flight.stopRecorder() // after the worker's last snapshot
			r.flight.hold.stop()    // no capture will finish now: held spans go unchanged
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
