package spans

import (
	"math"
	"runtime/metrics"
	"slices"
	"sync"
	"time"
)

// The runtime/metrics the page shows beside the requests. A name the running Go does not have
// (goroutines by state came in Go 1.26) reads as KindBad and is left out of the view.
var runtimeNames = []string{
	"/sched/goroutines:goroutines",
	"/sched/goroutines/running:goroutines",
	"/sched/goroutines/runnable:goroutines",
	"/sched/goroutines/waiting:goroutines",
	"/sched/goroutines/not-in-go:goroutines",
	"/sched/gomaxprocs:threads",
	"/sched/threads/total:threads",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",
	"/sched/pauses/total/gc:seconds",
	"/sched/latencies:seconds",
}

const (
	rtPauses  = 12 // indexes of the two histograms in runtimeNames
	rtLatency = 13

	runtimeWindow = time.Minute // the histograms' figures cover about this much
	runtimeEvery  = 10 * time.Second
)

// runtimeBook keeps a few cumulative snapshots of the runtime's histograms, one per
// runtimeEvery at most and none older than runtimeWindow, so the page can show pauses and
// scheduling latency over the last minute rather than since the process began.
type runtimeBook struct {
	mu   sync.Mutex
	past []runtimeHists
}

type runtimeHists struct {
	at              time.Time
	pauses, latency metrics.Float64Histogram
}

// runtimeView is the runtime section of the page and the JSON. Durations are milliseconds.
type runtimeView struct {
	Goroutines      *uint64 `json:"goroutines,omitempty"`
	Running         *uint64 `json:"goroutines_running,omitempty"`
	Runnable        *uint64 `json:"goroutines_runnable,omitempty"`
	Waiting         *uint64 `json:"goroutines_waiting,omitempty"`
	NotInGo         *uint64 `json:"goroutines_not_in_go,omitempty"`
	GOMAXPROCS      *uint64 `json:"gomaxprocs,omitempty"`
	Threads         *uint64 `json:"threads,omitempty"`
	GCCycles        *uint64 `json:"gc_cycles,omitempty"`
	HeapLive        *uint64 `json:"heap_live_bytes,omitempty"`
	HeapGoal        *uint64 `json:"heap_goal_bytes,omitempty"`
	HeapObjects     *uint64 `json:"heap_objects_bytes,omitempty"`
	TotalMemory     *uint64 `json:"total_memory_bytes,omitempty"`
	WindowSeconds   float64 `json:"window_seconds"` // what the pause and latency figures cover
	GCPauses        uint64  `json:"gc_pauses"`
	GCPauseP50MS    float64 `json:"gc_pause_p50_ms"`
	GCPauseP99MS    float64 `json:"gc_pause_p99_ms"`
	GCPauseMaxMS    float64 `json:"gc_pause_max_ms"`
	SchedLatencyP50 float64 `json:"sched_latency_p50_ms"`
	SchedLatencyP99 float64 `json:"sched_latency_p99_ms"`
	SchedLatencyMax float64 `json:"sched_latency_max_ms"`
}

func (b *runtimeBook) read(now time.Time) runtimeView {
	samples := make([]metrics.Sample, len(runtimeNames))
	for i, n := range runtimeNames {
		samples[i].Name = n
	}
	metrics.Read(samples)
	var v runtimeView
	for i, p := range []**uint64{&v.Goroutines, &v.Running, &v.Runnable, &v.Waiting, &v.NotInGo,
		&v.GOMAXPROCS, &v.Threads, &v.GCCycles, &v.HeapLive, &v.HeapGoal, &v.HeapObjects, &v.TotalMemory} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			n := samples[i].Value.Uint64()
			*p = &n
		}
	}
	cur := runtimeHists{at: now}
	if samples[rtPauses].Value.Kind() == metrics.KindFloat64Histogram {
		cur.pauses = copyHist(samples[rtPauses].Value.Float64Histogram())
	}
	if samples[rtLatency].Value.Kind() == metrics.KindFloat64Histogram {
		cur.latency = copyHist(samples[rtLatency].Value.Float64Histogram())
	}

	b.mu.Lock()
	// Forget snapshots past the window, keep the oldest one left as the base.
	b.past = slices.DeleteFunc(b.past, func(h runtimeHists) bool { return now.Sub(h.at) > runtimeWindow })
	base := runtimeHists{}
	if len(b.past) > 0 {
		base = b.past[0]
	}
	if len(b.past) == 0 || now.Sub(b.past[len(b.past)-1].at) >= runtimeEvery {
		b.past = append(b.past, cur)
	}
	b.mu.Unlock()

	if base.at.IsZero() {
		v.WindowSeconds = 0 // no base yet: the figures cover the process's life
	} else {
		v.WindowSeconds = now.Sub(base.at).Seconds()
	}
	pauses := subHist(cur.pauses, base.pauses)
	lat := subHist(cur.latency, base.latency)
	v.GCPauses = histCount(pauses)
	v.GCPauseP50MS, v.GCPauseP99MS, v.GCPauseMaxMS = histQuantile(pauses, 0.5), histQuantile(pauses, 0.99), histQuantile(pauses, 1)
	v.SchedLatencyP50, v.SchedLatencyP99, v.SchedLatencyMax = histQuantile(lat, 0.5), histQuantile(lat, 0.99), histQuantile(lat, 1)
	return v
}

func copyHist(h *metrics.Float64Histogram) metrics.Float64Histogram {
	return metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: h.Buckets}
}

// subHist returns cur - base, bucket by bucket; cur when base is empty or differently shaped.
func subHist(cur, base metrics.Float64Histogram) metrics.Float64Histogram {
	if len(base.Counts) != len(cur.Counts) {
		return cur
	}
	out := metrics.Float64Histogram{Counts: make([]uint64, len(cur.Counts)), Buckets: cur.Buckets}
	for i := range cur.Counts {
		if cur.Counts[i] >= base.Counts[i] {
			out.Counts[i] = cur.Counts[i] - base.Counts[i]
		}
	}
	return out
}

func histCount(h metrics.Float64Histogram) uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// histQuantile returns the q-quantile of h in milliseconds, as the upper edge of the bucket it
// falls in (the runtime's buckets are narrow; an upper edge never understates), 0 when empty.
func histQuantile(h metrics.Float64Histogram, q float64) float64 {
	total := histCount(h)
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i, c := range h.Counts {
		if seen += c; seen >= rank {
			edge := h.Buckets[i+1]
			if math.IsInf(edge, 1) {
				edge = h.Buckets[i]
			}
			return edge * 1e3
		}
	}
	return 0
}
