//go:build unix

// Package pairbench times two variants of the same work in one benchmark: alternating blocks,
// the order within each pair drawn at random, each block timed on its own (wall clock and the
// process's CPU time). Load from elsewhere on a shared machine then falls on both sides alike,
// which separate benchmark runs cannot promise, and the medians of the per-pair ratios and
// differences are what one preempted block cannot move. Pairing a side with itself (A/A) gives
// the method's own bias.
//
// It is for tests and benchmarks only (spans' and the benchmarks module's); the library never
// imports it.
package pairbench

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// Result is what Run measured: totals per side and the medians over the pairs.
type Result struct {
	Block, Pairs int
	// Totals over every block of each side.
	BaseWall, OtherWall, BaseCPU, OtherCPU time.Duration
	// Medians of the per-pair ratios, other / base.
	WallRatio, CPURatio float64
	// Medians of the per-pair differences per op, other - base, in nanoseconds: the absolute
	// cost of what other adds.
	WallDiff, CPUDiff float64
}

// Run calls base and other, each with the number of ops to do (block), in alternating blocks
// until b.N ops have run on the two sides together (so the benchmark's ns/op, B/op and
// allocs/op are the mean of one op of each side), and returns the medians.
func Run(b *testing.B, block int, base, other func(ops int)) Result {
	start := time.Now()
	b.ResetTimer()
	r := run(b.N, block, base, other, func() (wall, cpu time.Duration) { return time.Since(start), CPUTime() })
	b.StopTimer()
	return r
}

// run is Run for n ops with the clocks given: now returns the wall and CPU time elapsed so far.
func run(n, block int, base, other func(ops int), now func() (wall, cpu time.Duration)) Result {
	block = max(block, 1)
	r := Result{Block: block}
	var wallRatios, cpuRatios, wallDiffs, cpuDiffs []float64
	time1 := func(f func(int)) (wall, cpu time.Duration) {
		w0, c0 := now()
		f(block)
		w1, c1 := now()
		return w1 - w0, c1 - c0
	}
	seed := uint64(0x9E3779B97F4A7C15)
	for done := 0; done < n; done += 2 * block {
		seed ^= seed << 13 // xorshift: which side goes first
		seed ^= seed >> 7
		seed ^= seed << 17
		var bw, bc, ow, oc time.Duration
		if seed&1 == 0 {
			bw, bc = time1(base)
			ow, oc = time1(other)
		} else {
			ow, oc = time1(other)
			bw, bc = time1(base)
		}
		r.Pairs++
		r.BaseWall, r.OtherWall, r.BaseCPU, r.OtherCPU = r.BaseWall+bw, r.OtherWall+ow, r.BaseCPU+bc, r.OtherCPU+oc
		wallRatios = append(wallRatios, float64(ow)/float64(bw))
		wallDiffs = append(wallDiffs, float64(ow-bw)/float64(block))
		if bc > 0 && oc > 0 {
			cpuRatios = append(cpuRatios, float64(oc)/float64(bc))
		}
		cpuDiffs = append(cpuDiffs, float64(oc-bc)/float64(block))
	}
	r.WallRatio, r.CPURatio = Median(wallRatios), Median(cpuRatios)
	r.WallDiff, r.CPUDiff = Median(wallDiffs), Median(cpuDiffs)
	return r
}

// PerOp returns a side's total over the ops it ran, in nanoseconds per op.
func (r Result) PerOp(total time.Duration) float64 {
	if r.Pairs == 0 {
		return 0
	}
	return float64(total.Nanoseconds()) / float64(r.Pairs*r.Block)
}

// CPUTime is the CPU time the process has used (user and system, every thread): on a shared
// machine a steadier measure than the wall clock, which also counts time spent descheduled. It
// includes the garbage collector and any background goroutine of the code measured.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Median returns the middle value of xs (the upper one of an even count), sorting xs in place;
// 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
