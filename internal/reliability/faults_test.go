package reliability

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// lossSink counts the loss warnings a provider reports.
type lossSink struct {
	mu   sync.Mutex
	errs []error
}

func (s *lossSink) sink(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *lossSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.errs)
}

// Exporter faults against a loopback collector: the request path goes on, every lost span is
// counted, warnings are rate-limited, the queue stays bounded and Shutdown(1 s) returns.
func TestExporterFaults(t *testing.T) {
	n, conc := 1500, 32
	if fullRun() {
		n, conc = 20_000, 256
	}
	tests := []struct {
		name  string
		mode  Mode // 0: connection refused
		lossy bool
	}{
		{name: "healthy", mode: Healthy},
		{name: "connection refused", lossy: true},
		{name: "503 Retry-After", mode: Unavailable, lossy: true},
		{name: "hang", mode: Hang, lossy: true},
		{name: "5 MiB body", mode: HugeBody, lossy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				url string
				col *Collector
				err error
			)
			if tt.mode == 0 {
				url, err = RefusedURL()
			} else {
				col, err = NewCollector(tt.mode)
				if col != nil {
					url = col.URL()
					defer col.Close()
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			var warns lossSink
			var b bleeds
			topo, err := startTopology(&logCheck{b: &b}, ctxtrail.WithOTLP(url), ctxtrail.WithLossWarnings(time.Minute, warns.sink))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, loadErr := runLoad(ctx, topo, n, conc, &b)

			// Shutdown with a 1 s context, as a service does on SIGTERM. Servers first (they are
			// idle by now), then each provider, timed.
			var shutdowns []time.Duration
			for _, s := range []*service{topo.front, topo.back} {
				sctx, scancel := context.WithTimeout(context.Background(), time.Second)
				_ = s.srv.Shutdown(sctx)
				<-s.done
				s.wg.Wait()
				if s.tr != nil {
					s.tr.CloseIdleConnections()
				}
				t0 := time.Now()
				err := s.p.Shutdown(sctx)
				shutdowns = append(shutdowns, time.Since(t0))
				scancel()
				if !tt.lossy && err != nil {
					t.Errorf("Shutdown with a healthy collector: %v", err)
				}
				if tt.lossy && err != nil && !errors.Is(err, ctxtrail.ErrSpansLost) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Shutdown error %v wraps neither ErrSpansLost nor a deadline", err)
				}
				// A hang detector, not a timing assertion: Shutdown must come back near its
				// deadline, never after the exporter's own 10 s timeout or minute of retries.
				if d := shutdowns[len(shutdowns)-1]; d > 5*time.Second {
					t.Errorf("Shutdown(1 s) took %v", d)
				}
			}
			if loadErr != nil {
				t.Fatalf("load: %v", loadErr)
			}
			if b.total() != 0 {
				t.Errorf("bleed count %d; first: %q", b.total(), b.first)
			}

			// Aborted exports report their spans as failed when they return; wait for that.
			deadline := time.Now().Add(20 * time.Second)
			var st ctxtrail.Stats
			for {
				st = sum(topo.front.p.Stats(), topo.back.p.Stats())
				if st.Queued == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if want := uint64(n * spansPerRequest); st.Ended != want {
				t.Errorf("Stats.Ended = %d, want %d", st.Ended, want)
			}
			if st.Ended != st.Exported+st.Lost()+st.Queued {
				t.Errorf("Stats do not balance: %+v", st)
			}
			if st.Queued != 0 {
				t.Errorf("%d spans still queued 20 s after Shutdown", st.Queued)
			}
			if col != nil && uint64(col.Spans()) != st.Exported {
				t.Errorf("collector accepted %d spans, Stats.Exported = %d", col.Spans(), st.Exported)
			}
			if tt.lossy {
				if st.Lost() == 0 || st.Exported != 0 {
					t.Errorf("faulty collector: Stats = %+v, want every span lost", st)
				}
				if w := warns.count(); w < 1 || w > 2 {
					t.Errorf("%d loss warnings, want 1 or 2 (one per provider per minute)", w)
				}
			} else if st.Lost() != 0 || warns.count() != 0 {
				t.Errorf("healthy collector: Stats = %+v, %d warnings", st, warns.count())
			}
			t.Logf("RESULT faults case=%q requests=%d concurrency=%d p50=%v p99=%v ended=%d exported=%d dropped=%d failed=%d failed_exports=%d warnings=%d peak_heap=%s shutdown_front=%v shutdown_back=%v",
				tt.name, res.requests, conc, res.percentile(0.50), res.percentile(0.99), st.Ended, st.Exported,
				st.Dropped, st.Failed, st.FailedExports, warns.count(), mib(res.peakHeap),
				shutdowns[0].Round(time.Millisecond), shutdowns[1].Round(time.Millisecond))
		})
	}
}

// The queue bound holds while the collector hangs: never more than the queue size waits.
func TestHangingCollectorQueueStaysBounded(t *testing.T) {
	col, err := NewCollector(Hang)
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	const queue = 256
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithOTLP(col.URL()),
		ctxtrail.WithLossWarnings(time.Minute, func(error) {}),
		ctxtrail.WithBatchOptions(sdktrace.WithMaxQueueSize(queue), sdktrace.WithMaxExportBatchSize(64)))
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer("bounded")
	for range 20_000 {
		_, s := tr.Start(context.Background(), "op")
		s.End()
		if q := p.Stats().Queued; q > queue {
			t.Fatalf("%d spans queued, bound is %d", q, queue)
		}
	}
	st := p.Stats()
	if st.Dropped < 20_000-queue {
		t.Errorf("Stats = %+v, want at least %d dropped", st, 20_000-queue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ctxtrail.ErrSpansLost) {
		t.Errorf("Shutdown = %v, want a deadline or lost-spans error", err)
	}
}

func sum(ss ...ctxtrail.Stats) ctxtrail.Stats {
	var out ctxtrail.Stats
	for _, s := range ss {
		out.Ended += s.Ended
		out.Exported += s.Exported
		out.Dropped += s.Dropped
		out.Failed += s.Failed
		out.FailedExports += s.FailedExports
		out.Queued += s.Queued
	}
	return out
}
