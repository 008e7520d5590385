//go:build unix

package pairbench

import (
	"testing"
	"time"
)

// spin does n units of busy work that the compiler cannot drop.
func spin(n int) {
	x := uint64(1)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
}

var sink uint64

// Run must time each side apart, pair them, and report the medians: a side that does twice the
// work of the other comes out about twice as dear, and a side paired with itself about even.
// The bounds are wide (a shared machine); they catch a swapped side or a broken division, not
// a few per cent.
func TestRunPairsTheSides(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) {
		r := Run(b, 64, func(ops int) { spin(ops * 2000) }, func(ops int) { spin(ops * 4000) })
		b.ReportMetric(r.WallRatio, "ratio")
		b.ReportMetric(r.CPURatio, "cpu-ratio")
		b.ReportMetric(r.WallDiff, "diff-ns/op")
		if r.Pairs == 0 || 2*r.Pairs*r.Block < b.N {
			t.Errorf("%d pairs of %d ops for b.N %d", r.Pairs, r.Block, b.N)
		}
		if r.OtherWall < r.BaseWall || r.PerOp(r.OtherWall) <= 0 {
			t.Errorf("other side (twice the work) took %v, base %v", r.OtherWall, r.BaseWall)
		}
	})
	ratio := res.Extra["ratio"]
	if ratio < 1.3 || ratio > 3 {
		t.Errorf("wall ratio of twice the work = %.2f, want about 2", ratio)
	}
	if d := res.Extra["diff-ns/op"]; d <= 0 {
		t.Errorf("difference per op = %.1f ns, want the extra work's cost (> 0)", d)
	}
}

func TestCPUTimeAdvances(t *testing.T) {
	c0 := CPUTime()
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		spin(1000)
	}
	if CPUTime() <= c0 {
		t.Fatal("CPU time did not advance over 50 ms of busy work")
	}
}
