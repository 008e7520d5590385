package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/race"
)

func TestIndexBounds(t *testing.T) {
	prev := -1
	for i := range NumBuckets - 1 {
		lo, hi := Lower(i), Upper(i)
		if lo >= hi || (i > 0 && lo != Upper(i-1)) {
			t.Fatalf("bucket %d: [%d, %d) does not follow bucket %d's upper %d", i, lo, hi, i-1, Upper(i-1))
		}
		for _, v := range []int64{lo, hi - 1, lo + (hi-lo)/2} {
			if got := Index(v); got != i {
				t.Fatalf("Index(%d) = %d, want %d ([%d, %d))", v, got, i, lo, hi)
			}
		}
		if i >= sub && float64(hi-lo)/float64(lo) > 1.0/sub+1e-12 {
			t.Fatalf("bucket %d: width %d over lower %d is more than 1/%d", i, hi-lo, lo, sub)
		}
		prev = i
	}
	if prev != NumBuckets-2 {
		t.Fatalf("walked to %d", prev)
	}
	for _, v := range []int64{-5, 0} {
		if Index(v) != 0 {
			t.Errorf("Index(%d) = %d, want 0", v, Index(v))
		}
	}
	if got := Index(math.MaxInt64); got != NumBuckets-1 {
		t.Errorf("Index(max) = %d, want the last bucket", got)
	}
	if got := Index(1 << 37); got != NumBuckets-1 {
		t.Errorf("Index(2^37) = %d, want the last bucket", got)
	}
}

// exact is the nearest-rank quantile of sorted data.
func exact(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// The stated accuracy: every percentile within 2 % (1/64 by construction) of the exact
// nearest-rank percentile of the same data, over distributions shaped like request latencies.
func TestQuantileWithinTwoPercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() int64{
		"lognormal 2ms":   func() int64 { return int64(math.Exp(rng.NormFloat64()*0.8) * 2e6) },
		"uniform 1-100ms": func() int64 { return 1e6 + rng.Int64N(99e6) },
		"bimodal cache/db": func() int64 {
			if rng.IntN(10) < 9 {
				return 50e3 + rng.Int64N(20e3)
			}
			return 80e6 + rng.Int64N(40e6)
		},
		"tiny ns":    func() int64 { return rng.Int64N(200) },
		"heavy tail": func() int64 { return int64(1e5 / math.Pow(rng.Float64()+1e-9, 1.2)) },
	}
	const n = 20000
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			r := NewRing(6, 10*time.Second)
			now := time.Now().UnixNano()
			data := make([]int64, n)
			for i := range data {
				data[i] = min(draw(), 1<<37-1)
				r.Record(now, data[i], false)
			}
			slices.Sort(data)
			var s Summary
			r.Read(now, 0, &s)
			if s.Count != n {
				t.Fatalf("count %d, want %d", s.Count, n)
			}
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := exact(data, q)
				got := int64(s.Quantile(q))
				if rel := math.Abs(float64(got-want)) / float64(max(want, 1)); rel > 0.02 {
					t.Errorf("p%g = %d, exact %d: relative error %.4f > 2%%", q*100, got, want, rel)
				}
			}
		})
	}
}

func TestRingWindow(t *testing.T) {
	const sec = int64(time.Second)
	r := NewRing(6, 10*time.Second)
	base := (time.Now().UnixNano()/(10*sec) + 1) * 10 * sec // the start of an interval
	var s Summary
	r.Record(base+1*sec, 5e6, false)
	r.Record(base+2*sec, 7e6, true)
	r.Record(base+15*sec, 9e6, false)
	r.Read(base+15*sec, 0, &s)
	if s.Count != 3 || s.Errors != 1 || s.Sum != 21*time.Millisecond {
		t.Fatalf("after three: %+v", s.Count)
	}
	if s.CoarseErrors[CoarseIndex(7e6)] != 1 || s.Coarse[CoarseIndex(5e6)] != 3 {
		t.Errorf("coarse buckets %v errors %v", s.Coarse, s.CoarseErrors)
	}
	if s.Covered != 55*time.Second {
		t.Errorf("covered %v, want 55s (five whole intervals and 5s)", s.Covered)
	}
	r.Read(base+15*sec, base, &s)
	if s.Covered != 15*time.Second {
		t.Errorf("covered %v since the start, want 15s", s.Covered)
	}
	if got := s.Rate(); math.Abs(got-0.2) > 1e-9 {
		t.Errorf("rate %v, want 3 in 15s", got)
	}
	// 55s later the first interval's slot has left the window; the second's is still in.
	r.Read(base+60*sec, 0, &s)
	if s.Count != 1 {
		t.Errorf("a minute on: count %d, want the one of the second interval", s.Count)
	}
	// A duration in the slot the first interval used, six intervals on, clears it first.
	if !r.Record(base+61*sec, 1e6, false) {
		t.Fatal("a current duration was refused")
	}
	r.Read(base+61*sec, 0, &s)
	if s.Count != 2 || s.Errors != 0 {
		t.Errorf("after rotation: count %d errors %d, want 2 and 0", s.Count, s.Errors)
	}
	if r.Record(base+2*sec, 1e6, false) {
		t.Error("a duration older than the ring was counted")
	}
	r.Read(base+200*sec, 0, &s)
	if s.Count != 0 {
		t.Errorf("long after: count %d, want 0", s.Count)
	}
	if s.Quantile(0.99) != 0 {
		t.Error("empty window has a percentile")
	}
}

func TestAllocRecord(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	r := NewRing(6, 10*time.Millisecond) // rotates often during the run
	if n := testing.AllocsPerRun(1000, func() {
		r.Record(time.Now().UnixNano(), 3e6, true)
	}); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRing(6, 10*time.Second)
	now := time.Now().UnixNano()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(now, 3e6, false)
		}
	})
}

func BenchmarkRead(b *testing.B) {
	r := NewRing(6, 10*time.Second)
	now := time.Now().UnixNano()
	for i := range 1000 {
		r.Record(now-int64(i)*int64(50*time.Millisecond), int64(i)*1e5, false)
	}
	var s Summary
	b.ReportAllocs()
	for b.Loop() {
		r.Read(now, 0, &s)
		_ = s.Quantile(0.99)
	}
}
