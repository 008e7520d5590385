package ctxtrail

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"
)

var errCollector = errors.New("collector: 503 service unavailable")

// faultExporter fails every export with err when set, and with gate set waits for it to close
// (or for the export's ctx to end) before answering.
type faultExporter struct {
	err     error
	gate    chan struct{}
	entered chan struct{} // receives once per export that starts waiting on gate
	got     atomic.Int64
	opened  sync.Once
}

// gatedExporter returns an exporter whose exports wait on its gate. The caller defers open, so
// that a test failing before it opens the gate does not leave Shutdown waiting on it.
func gatedExporter() *faultExporter {
	return &faultExporter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
}

// open lets every waiting and later export through; calling it again does nothing.
func (e *faultExporter) open() { e.opened.Do(func() { close(e.gate) }) }

// waitEntered waits until an export holds a batch, failing t if none starts within a bound.
func (e *faultExporter) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-e.entered:
	case <-time.After(10 * time.Second): // a hang detector: the export starts within milliseconds
		t.Fatal("no export started")
	}
}

func (e *faultExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.gate != nil {
		select {
		case e.entered <- struct{}{}:
		default:
		}
		select {
		case <-e.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if e.err != nil {
		return e.err
	}
	e.got.Add(int64(len(spans)))
	return nil
}

func (e *faultExporter) Shutdown(context.Context) error { return nil }

// warnings collects the loss warnings Install reports.
type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) sink(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *warnings) all() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func endSpans(p *Provider, n int) {
	tr := p.Tracer("drops")
	for range n {
		_, s := tr.Start(context.Background(), "op")
		s.End()
	}
}

func checkBalance(t *testing.T, s Stats) {
	t.Helper()
	if s.Ended != s.Exported+s.Dropped+s.Failed+s.Queued {
		t.Fatalf("stats do not balance: %+v", s)
	}
}

func TestStatsHealthyExporterLosesNothing(t *testing.T) {
	clearEnv(t)
	exp := &faultExporter{}
	var w warnings
	p := install(t, WithExporter(exp), WithLossWarnings(time.Hour, w.sink))
	endSpans(p, 1000)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := p.Stats()
	want := Stats{Ended: 1000, Exported: 1000}
	if got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if exp.got.Load() != 1000 {
		t.Fatalf("exporter got %d spans, want 1000", exp.got.Load())
	}
	if len(w.all()) != 0 {
		t.Fatalf("warnings for a healthy exporter: %v", w.all())
	}
}

func TestStatsUnsampledSpansAreNotCounted(t *testing.T) {
	clearEnv(t)
	p := install(t, WithExporter(&faultExporter{}), WithSampler(sdktrace.NeverSample()))
	endSpans(p, 10)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats(); got != (Stats{}) {
		t.Fatalf("Stats = %+v, want zero", got)
	}
}

func TestStatsFailedExports(t *testing.T) {
	clearEnv(t)
	exp := &faultExporter{err: errCollector}
	var w warnings
	p := install(t, WithExporter(exp), WithLossWarnings(time.Hour, w.sink),
		WithBatchOptions(sdktrace.WithMaxExportBatchSize(10)))
	endSpans(p, 35)
	err := p.ForceFlush(context.Background())
	if !errors.Is(err, ErrSpansLost) || !errors.Is(err, errCollector) {
		t.Fatalf("ForceFlush = %v, want ErrSpansLost and the collector's error", err)
	}
	s := p.Stats()
	if s.Ended != 35 || s.Failed != 35 || s.Exported != 0 || s.FailedExports < 4 || s.Queued != 0 {
		t.Fatalf("Stats = %+v, want 35 ended and failed in at least 4 exports", s)
	}
	if s.Lost() != 35 {
		t.Fatalf("Lost = %d, want 35", s.Lost())
	}
	ws := w.all()
	if len(ws) != 1 {
		t.Fatalf("got %d warnings, want 1 (one per interval): %v", len(ws), ws)
	}
	var lw *LossWarning
	if !errors.As(ws[0], &lw) || !errors.Is(ws[0], errCollector) || !errors.Is(ws[0], ErrSpansLost) {
		t.Fatalf("warning %v is not a LossWarning wrapping the collector's error", ws[0])
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown with nothing left to send: %v", err)
	}
}

// A collector that stalls fills the queue: the spans past the queue are refused and counted,
// none is lost silently inside the batch processor, and the request path does not wait.
func TestStatsQueueFullDropsAreCounted(t *testing.T) {
	clearEnv(t)
	exp := gatedExporter()
	defer exp.open()
	var w warnings
	p := install(t, WithExporter(exp), WithLossWarnings(time.Hour, w.sink),
		WithBatchOptions(sdktrace.WithMaxQueueSize(20), sdktrace.WithMaxExportBatchSize(5)))
	endSpans(p, 5)
	exp.waitEntered(t) // the exporter now holds a batch of 5 and answers nothing
	endSpans(p, 500)
	s := p.Stats()
	checkBalance(t, s)
	if s.Ended != 505 || s.Dropped != 505-20 || s.Queued != 20 {
		t.Fatalf("Stats = %+v, want 505 ended, 485 dropped, 20 queued", s)
	}
	exp.open()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s = p.Stats()
	if s.Exported != 20 || s.Dropped != 485 || s.Queued != 0 || s.Failed != 0 {
		t.Fatalf("after Shutdown Stats = %+v, want 20 exported, 485 dropped", s)
	}
	if exp.got.Load() != 20 {
		t.Fatalf("exporter got %d spans, want 20", exp.got.Load())
	}
	ws := w.all()
	var lw *LossWarning
	if len(ws) != 1 || !errors.As(ws[0], &lw) || lw.Stats.Dropped == 0 || lw.Err != nil {
		t.Fatalf("warnings = %v, want one LossWarning about drops", ws)
	}
}

// Many goroutines ending spans against a slow, small queue: every span is accounted for.
func TestStatsBalanceUnderConcurrency(t *testing.T) {
	clearEnv(t)
	exp := &faultExporter{}
	p := install(t, WithExporter(exp), WithLossWarnings(time.Hour, func(error) {}),
		WithBatchOptions(sdktrace.WithMaxQueueSize(64), sdktrace.WithMaxExportBatchSize(16)))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { endSpans(p, 500) })
	}
	wg.Go(func() {
		for range 20 {
			_ = p.ForceFlush(context.Background())
		}
	})
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.Ended != 8000 || s.Exported+s.Dropped != 8000 || s.Queued != 0 || s.Failed != 0 {
		t.Fatalf("Stats = %+v, want 8000 ended = exported + dropped", s)
	}
	if uint64(exp.got.Load()) != s.Exported {
		t.Fatalf("exporter got %d spans, Stats says %d", exp.got.Load(), s.Exported)
	}
}

// Shutdown with a hanging exporter returns by its deadline; the spans it could not send end up
// counted as failed once the aborted export returns.
func TestStatsShutdownHangingExporter(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	exp := gatedExporter()
	defer exp.open()
	p := install(t, WithExporter(exp), WithLossWarnings(time.Hour, func(error) {}))
	endSpans(p, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want a deadline error", err)
	}
	deadline := time.Now().Add(5 * time.Second) // a hang detector: the aborted export returns at once
	for p.Stats().Failed != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("aborted export never counted: %+v", p.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := p.Stats(); s.Lost() != 10 || s.Queued != 0 {
		t.Fatalf("Stats = %+v, want 10 lost", s)
	}
}

func TestStatsSpansAfterShutdownAreDropped(t *testing.T) {
	clearEnv(t)
	p := install(t, WithExporter(&faultExporter{}))
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The SDK may stop calling processors after Shutdown; whatever it does, nothing is queued.
	endSpans(p, 3)
	if s := p.Stats(); s.Queued != 0 || s.Exported != 0 {
		t.Fatalf("Stats = %+v, want nothing queued or exported", s)
	}
}

func TestQueueLimit(t *testing.T) {
	tests := []struct {
		name string
		opts []sdktrace.BatchSpanProcessorOption
		want int64
	}{
		{"default", nil, sdktrace.DefaultMaxQueueSize},
		{"queue size", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(7)}, 7},
		{"last wins", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(7), sdktrace.WithMaxQueueSize(9)}, 9},
		{"blocking refuses nothing", []sdktrace.BatchSpanProcessorOption{sdktrace.WithBlocking()}, 0},
		{"zero queue still bounded", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(0)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queueLimit(tt.opts); got != tt.want {
				t.Fatalf("queueLimit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLossWarningError(t *testing.T) {
	tests := []struct {
		name  string
		w     *LossWarning
		wants []string
		is    []error
	}{
		{
			name:  "drops only",
			w:     &LossWarning{Stats: Stats{Ended: 9, Dropped: 4}, Interval: time.Minute},
			wants: []string{"spans lost", "4 dropped", "of 9 ended", "1m0s"},
			is:    []error{ErrSpansLost},
		},
		{
			name:  "failed export",
			w:     &LossWarning{Stats: Stats{Ended: 9, Failed: 5, FailedExports: 1}, Err: errCollector, Interval: time.Second},
			wants: []string{"5 in 1 failed exports", "last export error: collector: 503"},
			is:    []error{ErrSpansLost, errCollector},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.w.Error()
			for _, want := range tt.wants {
				if !strings.Contains(msg, want) {
					t.Errorf("Error() = %q, want it to contain %q", msg, want)
				}
			}
			for _, target := range tt.is {
				if !errors.Is(tt.w, target) {
					t.Errorf("errors.Is(%v, %v) = false", tt.w, target)
				}
			}
		})
	}
}

// The default sink is otel.Handle and the default interval DefaultWarnInterval.
func TestLossWarnerDefaults(t *testing.T) {
	w := newLossWarner(0, nil)
	if w.interval != propagators.DefaultWarnInterval || w.sink == nil {
		t.Fatalf("defaults: interval %v, sink set %v", w.interval, w.sink != nil)
	}
}

// The SDK does not shut processors down once Shutdown's context has ended; Provider.Shutdown
// must still stop every batch processor's goroutine, even with a context ended beforehand.
func TestShutdownWithEndedContextLeavesNoGoroutine(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tt := range []struct {
		name string
		exp  *faultExporter
	}{
		{"healthy exporter", &faultExporter{}},
		{"hanging exporter", gatedExporter()}, // never opened: Shutdown must abort its export
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Install(context.Background(), WithoutGlobal(), WithExporter(tt.exp), WithExporter(&faultExporter{}),
				WithLossWarnings(time.Hour, func(error) {}))
			if err != nil {
				t.Fatal(err)
			}
			endSpans(p, 10)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown = %v, want context.Canceled", err)
			}
		})
	}
}

// goroutineProcessor stands for a span processor with a background goroutine (a Monitor with a
// leak callback): its goroutine ends only when Shutdown is called.
type goroutineProcessor struct {
	stop chan struct{}
	once sync.Once
}

func newGoroutineProcessor() *goroutineProcessor {
	p := &goroutineProcessor{stop: make(chan struct{})}
	go func() { <-p.stop }()
	return p
}

func (p *goroutineProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *goroutineProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (p *goroutineProcessor) ForceFlush(context.Context) error                { return nil }
func (p *goroutineProcessor) Shutdown(context.Context) error {
	p.once.Do(func() { close(p.stop) })
	return nil
}

// The SDK skips span processors once Shutdown's context has ended; Install's own must still be
// shut down, or their goroutines outlive the provider.
func TestShutdownWithEndedContextStopsUserProcessors(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sp := newGoroutineProcessor()
	p, err := Install(context.Background(), WithoutGlobal(), WithExporter(&faultExporter{}), WithSpanProcessor(sp))
	if err != nil {
		t.Fatal(err)
	}
	endSpans(p, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
}
