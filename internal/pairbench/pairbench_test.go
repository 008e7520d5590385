//go:build unix

package pairbench

import (
	"math"
	"testing"
	"time"
)

// fakeClock advances only when the sides say so: a deterministic stand-in for the wall and CPU
// clocks, so that the pairing and the medians can be checked exactly.
type fakeClock struct{ wall, cpu time.Duration }

func (c *fakeClock) now() (time.Duration, time.Duration) { return c.wall, c.cpu }

// Each side must be timed on its own, the pair's ratio and difference taken as other/base and
// other-base per op, and the medians must ignore a minority of disturbed pairs.
func TestRunPairsTheSides(t *testing.T) {
	var c fakeClock
	calls := 0
	base := func(ops int) { c.wall += time.Duration(ops) * 100; c.cpu += time.Duration(ops) * 90 }
	other := func(ops int) {
		calls++
		d := time.Duration(ops) * 300
		if calls%5 == 0 { // one pair in five preempted: the medians must not move
			d *= 10
		}
		c.wall += d
		c.cpu += time.Duration(ops) * 180
	}
	r := run(1000, 8, base, other, c.now)
	if r.Pairs != 63 || r.Block != 8 { // 1000 ops on both sides together, 16 a pair
		t.Errorf("%d pairs of %d ops, want 63 of 8", r.Pairs, r.Block)
	}
	check := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("wall ratio", r.WallRatio, 3)
	check("CPU ratio", r.CPURatio, 2)
	check("wall difference", r.WallDiff, 200)
	check("CPU difference", r.CPUDiff, 90)
	check("base wall per op", r.PerOp(r.BaseWall), 100)
	check("other CPU per op", r.PerOp(r.OtherCPU), 180)
}

func TestCPUTimeAdvances(t *testing.T) {
	c0 := CPUTime()
	deadline := time.Now().Add(50 * time.Millisecond)
	x := uint64(1)
	for time.Now().Before(deadline) {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
	if CPUTime() <= c0 {
		t.Fatal("CPU time did not advance over 50 ms of busy work")
	}
}

var sink uint64
