package spans

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// The runtime beside the requests: goroutines by state (Go 1.26's metrics), GC pauses and
// scheduling latency over the window, the heap.
func TestMonitorRuntime(t *testing.T) {
	var b runtimeBook
	now := time.Now()
	v := b.read(now)
	if v.Goroutines == nil || *v.Goroutines == 0 || v.HeapLive == nil || v.HeapGoal == nil || v.GCCycles == nil {
		t.Fatalf("runtime view %+v", v)
	}
	if v.Running == nil || v.Waiting == nil {
		t.Errorf("no goroutines by state on %s", runtime.Version())
	}
	stop := make(chan struct{})
	parked := make(chan struct{})
	for range 5 {
		go func() { parked <- struct{}{}; <-stop }()
		<-parked
	}
	runtime.GC()
	runtime.GC()
	w := b.read(now.Add(time.Second))
	close(stop)
	// Other tests' goroutines come and go meanwhile: only the five parked ones are sure.
	if *w.Goroutines < 6 || *w.Waiting < 5 {
		t.Errorf("goroutines %d (running %d, runnable %d, waiting %d, not in Go %d) with 5 parked",
			*w.Goroutines, *w.Running, *w.Runnable, *w.Waiting, *w.NotInGo)
	}
	if w.GCPauses < 2 || w.GCPauseMaxMS <= 0 || w.GCPauseP50MS > w.GCPauseMaxMS || w.WindowSeconds != 1 {
		t.Errorf("after two GCs, over the second since the first read: %+v", w)
	}
	// Past the window, the first read no longer counts as its base.
	later := b.read(now.Add(2 * runtimeWindow))
	if later.WindowSeconds != 0 && later.WindowSeconds > runtimeWindow.Seconds() {
		t.Errorf("window %vs, want at most %v", later.WindowSeconds, runtimeWindow)
	}
	if len(b.past) > int(runtimeWindow/runtimeEvery)+1 {
		t.Errorf("%d snapshots kept", len(b.past))
	}
}

func TestHistQuantile(t *testing.T) {
	h := metrics.Float64Histogram{Counts: []uint64{0, 3, 1, 0}, Buckets: []float64{0, 0.001, 0.002, 0.004, 0.008}}
	for _, tt := range []struct{ q, want float64 }{{0.5, 2}, {0.75, 2}, {1, 4}} {
		if got := histQuantile(h, tt.q); got != tt.want {
			t.Errorf("q%v = %v ms, want %v", tt.q, got, tt.want)
		}
	}
	if histQuantile(metrics.Float64Histogram{Counts: []uint64{0}, Buckets: []float64{0, 1}}, 0.5) != 0 {
		t.Error("empty histogram has a quantile")
	}
}
