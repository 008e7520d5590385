package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// The attributes a captured request's server span gets before it ends, and its "runtime
// evidence" child span after the capture is read.
const (
	AttrCaptureID     = "ctxtrail.capture.id"
	AttrCaptureReason = "ctxtrail.capture.reason"  // "slow" or "error"
	AttrCaptureSkip   = "ctxtrail.capture.skipped" // "over_budget" or "busy": the request qualified, no capture was taken
	AttrRunningMs     = "ctxtrail.runtime.running_ms"
	AttrRunnableMs    = "ctxtrail.runtime.runnable_ms"
	AttrBlockedMs     = "ctxtrail.runtime.blocked_ms"
	AttrSyscallMs     = "ctxtrail.runtime.syscall_ms"
	AttrGCAssistMs    = "ctxtrail.runtime.gc_assist_ms"
	AttrOtherMs       = "ctxtrail.runtime.other_ms"
	AttrGoroutines    = "ctxtrail.runtime.goroutines"
	EvidenceSpanName  = "runtime evidence"
)

// CaptureInfo describes one capture (its trace bytes are served by CapturesHandler).
type CaptureInfo struct {
	ID       string        `json:"id"`
	Reason   string        `json:"reason"` // slow or error
	Route    string        `json:"route"`
	TraceID  string        `json:"trace_id,omitempty"`
	SpanID   string        `json:"span_id,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// State is done, or failed (Error says why). A capture is listed once read.
	State     string     `json:"state"`
	Error     string     `json:"error,omitempty"`
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	Bytes     int        `json:"bytes"`
	Kept      bool       `json:"kept"` // the trace bytes are in the store (false past the byte budget, or evicted)
	File      string     `json:"file,omitempty"`
	// Cost is the wall time the capture worker spent on it (snapshot and reading), off the
	// request path.
	Cost time.Duration `json:"cost_ns"`
}

// CaptureStats counts the captures asked for, by outcome.
type CaptureStats struct {
	Taken       int64  `json:"taken"`
	OverBudget  int64  `json:"over_budget"` // past the captures-per-minute budget: counted, not taken
	TooLarge    int64  `json:"too_large"`   // larger than the byte budget: read, not kept
	Busy        int64  `json:"busy"`        // the worker's queue was full: counted, not taken
	Failed      int64  `json:"failed"`
	StoredBytes int64  `json:"stored_bytes"`
	Recorder    string `json:"recorder"` // "own" (started by the Recorder) or "shared"

	// The export hold (WrapProcessor, ctxtrail.WithSpanExportHold): server spans held now, and
	// those exported with the breakdown (attached) or without it: past the wait (timed_out), past
	// the count held (overflow), or let go by Shutdown.
	HeldNow      int64 `json:"held_now"`
	HeldAttached int64 `json:"held_attached"`
	HeldTimedOut int64 `json:"held_timed_out"`
	HeldOverflow int64 `json:"held_overflow"`
	HeldShutdown int64 `json:"held_shutdown"`
}

const (
	queueLen    = 16
	maxCaptures = 64 // records kept, bytes or not
)

type pending struct {
	info CaptureInfo
	sc   oteltrace.SpanContext
	tp   oteltrace.TracerProvider
	end  time.Time
}

type flight struct {
	cfg   config
	fr    *trace.FlightRecorder
	own   bool
	queue chan *pending

	mu          sync.Mutex
	minuteStart time.Time
	minuteCount int
	seq         uint64
	captures    []*stored // oldest first
	stats       CaptureStats

	hold hold // hold.go

	beforeCapture atomic.Pointer[func()] // tests: hold the worker before a capture
}

type stored struct {
	info CaptureInfo
	data []byte
}

func startFlight(cfg config, stop <-chan struct{}, wg *sync.WaitGroup) (*flight, error) {
	f := &flight{cfg: cfg, queue: make(chan *pending, queueLen)}
	f.hold.f, f.hold.max, f.hold.wait = f, cfg.holdMax, cfg.holdWait
	if cfg.shared != nil {
		if !cfg.shared.Enabled() {
			return nil, fmt.Errorf("%w: WithSharedFlightRecorder: the recorder is not started; call its Start first", ErrConfig)
		}
		f.fr, f.stats.Recorder = cfg.shared, "shared"
	} else {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: cfg.minAge, MaxBytes: cfg.recMaxBytes})
		if err := fr.Start(); err != nil {
			return nil, fmt.Errorf("%w (runtime/trace: %v): pass the application's recorder with WithSharedFlightRecorder, or leave the flight recorder unarmed", ErrFlightRecorderInUse, err)
		}
		f.fr, f.own, f.stats.Recorder = fr, true, "own"
	}
	if cfg.dir != "" {
		if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
			f.stopRecorder()
			return nil, fmt.Errorf("%w: WithCaptureDir(%q): %v", ErrConfig, cfg.dir, err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.work(stop)
	}()
	return f, nil
}

func (f *flight) stopRecorder() {
	if f.own {
		f.fr.Stop()
	}
}

func (f *flight) threshold(route string) time.Duration {
	if d, ok := f.cfg.routeSlow[route]; ok {
		return d
	}
	return f.cfg.slow
}

// requestEnded decides, on the request path and without blocking, whether the request gets a
// capture, and names the capture on the span while the span is still open.
func (f *flight) requestEnded(q *Request, route string, failed bool) {
	if q.start.IsZero() {
		return
	}
	now := time.Now()
	d := now.Sub(q.start)
	if !failed && d < f.threshold(route) {
		return
	}
	reason := "slow"
	if failed {
		reason = "error"
	}
	f.mu.Lock()
	if now.Sub(f.minuteStart) >= time.Minute {
		f.minuteStart, f.minuteCount = now, 0
	}
	if f.minuteCount >= f.cfg.perMinute {
		f.stats.OverBudget++
		f.mu.Unlock()
		q.span.SetAttributes(attribute.String(AttrCaptureSkip, "over_budget"))
		return
	}
	f.seq++
	id := "c" + strconv.FormatUint(f.seq, 10)
	p := &pending{
		info: CaptureInfo{ID: id, Reason: reason, Route: route, TraceID: q.tid, SpanID: q.sid,
			Start: q.start, Duration: d, State: "pending"},
		sc: q.span.SpanContext(), tp: q.span.TracerProvider(), end: now,
	}
	tracked := f.hold.track(p) // before the worker can see it
	select {
	case f.queue <- p:
		f.minuteCount++
		f.mu.Unlock()
		q.span.SetAttributes(attribute.String(AttrCaptureID, id), attribute.String(AttrCaptureReason, reason))
	default:
		f.stats.Busy++
		f.mu.Unlock()
		if tracked {
			f.hold.untrack(p)
		}
		q.span.SetAttributes(attribute.String(AttrCaptureSkip, "busy"))
	}
}

func (f *flight) work(stop <-chan struct{}) {
	var buf bytes.Buffer
	for {
		select {
		case <-stop:
			return
		case p := <-f.queue:
			if fn := f.beforeCapture.Load(); fn != nil {
				(*fn)()
			}
			f.capture(p, &buf)
		}
	}
}

// capture snapshots the recorder, reads the request's window, stores the bytes within the
// budget and reports the breakdown on a child span of the request's server span.
func (f *flight) capture(p *pending, buf *bytes.Buffer) {
	t0 := time.Now()
	info := p.info
	buf.Reset()
	_, err := f.fr.WriteTo(buf)
	if err == nil && p.info.SpanID == "" {
		err = errors.New("the request had no span ID to find it by in the trace")
	}
	var b Breakdown
	if err == nil {
		b, err = analyze(buf.Bytes(), p.info.SpanID)
	}
	info.Cost = time.Since(t0)
	info.Bytes = buf.Len()
	if err != nil {
		info.State, info.Error = "failed", err.Error()
	} else {
		info.State, info.Breakdown = "done", &b
	}
	var data []byte
	if err == nil && int64(buf.Len()) <= f.cfg.maxBytes {
		data = bytes.Clone(buf.Bytes())
		info.Kept = true
		if f.cfg.dir != "" {
			path := filepath.Join(f.cfg.dir, info.ID+".trace")
			if werr := os.WriteFile(path, data, 0o644); werr == nil {
				info.File = path
			} else {
				info.Error = "writing the capture: " + werr.Error()
			}
		}
	}
	if buf.Cap() > 2*int(f.cfg.recMaxBytes) {
		*buf = bytes.Buffer{} // do not keep a huge buffer between captures
	}
	f.mu.Lock()
	switch {
	case err != nil:
		f.stats.Failed++
	case !info.Kept:
		f.stats.TooLarge++
	default:
		f.stats.Taken++
	}
	f.store(&stored{info: info, data: data})
	f.mu.Unlock()
	f.hold.done(p, info, b, err == nil)
}

// evidenceSpan reports the breakdown on a "runtime evidence" child span of the request's server
// span, spanning the request's window: where no export hold put it on the server span itself.
func (f *flight) evidenceSpan(p *pending, info CaptureInfo, b Breakdown) {
	if !p.sc.IsValid() || p.tp == nil {
		return
	}
	ctx := oteltrace.ContextWithSpanContext(context.Background(), p.sc)
	_, span := p.tp.Tracer("github.com/ctxtrail/ctxtrail/spans/evidence").Start(ctx, EvidenceSpanName,
		oteltrace.WithTimestamp(p.info.Start), oteltrace.WithAttributes(append([]attribute.KeyValue{
			attribute.String(AttrCaptureID, info.ID),
			attribute.String(AttrCaptureReason, info.Reason),
		}, breakdownAttrs(b)...)...))
	span.End(oteltrace.WithTimestamp(p.end))
}

// store adds s, evicting the oldest captures' bytes to stay within the byte budget and the
// oldest records past maxCaptures. f.mu is held.
func (f *flight) store(s *stored) {
	f.captures = append(f.captures, s)
	f.stats.StoredBytes += int64(len(s.data))
	for i := 0; i < len(f.captures)-1 && f.stats.StoredBytes > f.cfg.maxBytes; i++ {
		if old := f.captures[i]; old.data != nil {
			f.stats.StoredBytes -= int64(len(old.data))
			old.data, old.info.Kept = nil, false
		}
	}
	if len(f.captures) > maxCaptures {
		drop := f.captures[0]
		f.stats.StoredBytes -= int64(len(drop.data))
		f.captures = append(f.captures[:0], f.captures[1:]...)
	}
}

// counts returns the capture counts alone, for the metrics, which need no capture's copy.
func (f *flight) counts() CaptureStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	f.hold.stats(&st)
	return st
}

func (f *flight) snapshot() ([]CaptureInfo, CaptureStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	f.hold.stats(&st)
	out := make([]CaptureInfo, 0, len(f.captures))
	for i := len(f.captures) - 1; i >= 0; i-- {
		info := f.captures[i].info
		if info.Breakdown != nil {
			b := *info.Breakdown
			b.GoroutineIDs = append([]int64(nil), b.GoroutineIDs...)
			info.Breakdown = &b
		}
		out = append(out, info)
	}
	return out, st
}

// data returns a kept capture's bytes.
func (f *flight) data(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.captures {
		if s.info.ID == id && s.data != nil {
			return s.data, true
		}
	}
	return nil, false
}
