package latency

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	subBits = 5
	sub     = 1 << subBits // buckets per power of two
	maxExp  = 36           // the last power of two with buckets of its own: 2^36..2^37 ns

	// NumBuckets is the number of fine buckets of a histogram.
	NumBuckets = (maxExp - subBits + 2) * sub // 1056
)

// Index returns the fine bucket of a duration in nanoseconds (negative counts as 0).
func Index(ns int64) int {
	if ns < sub {
		return int(max(ns, 0))
	}
	v := uint64(ns)
	e := bits.Len64(v) - 1
	if e > maxExp {
		return NumBuckets - 1
	}
	return (e-subBits+1)*sub + int((v>>(e-subBits))&(sub-1))
}

// Lower returns the smallest duration, in nanoseconds, of bucket i.
func Lower(i int) int64 {
	if i < sub {
		return int64(i)
	}
	e := i/sub + subBits - 1
	m := i % sub
	return int64(sub+m) << (e - subBits)
}

// Upper returns the first duration past bucket i.
func Upper(i int) int64 {
	if i >= NumBuckets-1 {
		return math.MaxInt64
	}
	return Lower(i + 1)
}

// estimate is the value a percentile falling in bucket i reports.
func estimate(i int) int64 {
	switch {
	case i < sub:
		return int64(i)
	case i == NumBuckets-1:
		return Lower(i)
	}
	lo, hi := Lower(i), Upper(i)
	return lo + (hi-lo)/2
}

// Coarse bucket edges: the distribution the page draws and the buckets examples are kept for.
// Bucket 0 is under the first edge; bucket len(CoarseEdges) is at or over the last.
var CoarseEdges = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// NumCoarse is the number of coarse buckets.
const NumCoarse = len(CoarseEdges) + 1

// CoarseIndex returns the coarse bucket of a duration in nanoseconds.
func CoarseIndex(ns int64) int {
	// A short linear scan: most requests fall in the first few buckets.
	for i, e := range CoarseEdges {
		if ns < int64(e) {
			return i
		}
	}
	return len(CoarseEdges)
}

// slot is one interval's histogram.
type slot struct {
	epoch  atomic.Int64 // interval number (end time / interval); 0 = never used
	sum    atomic.Int64 // nanoseconds; the counts are the coarse buckets' sums, read not kept
	fine   [NumBuckets]atomic.Uint32
	coarse [NumCoarse]atomic.Uint32
	cerrs  [NumCoarse]atomic.Uint32
}

// Ring is a sliding window of per-interval histograms. The zero value is not usable: see NewRing
// (or Init for a Ring embedded in a larger struct).
type Ring struct {
	mu       sync.Mutex // held to clear a slot and to read
	interval int64
	slots    []slot
}

// NewRing returns a ring of n slots (at least 2) of the given interval (at least 1ms).
func NewRing(n int, interval time.Duration) *Ring {
	r := new(Ring)
	r.Init(n, interval)
	return r
}

// Init sets up a ring in place.
func (r *Ring) Init(n int, interval time.Duration) {
	r.interval = int64(max(interval, time.Millisecond))
	r.slots = make([]slot, max(n, 2))
}

// Size returns the slots and their interval.
func (r *Ring) Size() (int, time.Duration) { return len(r.slots), time.Duration(r.interval) }

// Record counts a duration that ended at end (Unix nanoseconds) in its interval's slot. It reports
// false, counting nothing, for a duration that ended more than a ring's length before the newest
// one recorded. It never allocates.
func (r *Ring) Record(end, dur int64, failed bool) bool {
	ep := end/r.interval + 1 // +1: epoch 0 marks a slot never used
	s := &r.slots[ep%int64(len(r.slots))]
	if cur := s.epoch.Load(); cur != ep {
		if cur > ep {
			return false
		}
		r.rotate(s, ep)
	}
	s.sum.Add(dur)
	s.fine[Index(dur)].Add(1)
	c := CoarseIndex(dur)
	s.coarse[c].Add(1)
	if failed {
		s.cerrs[c].Add(1)
	}
	return true
}

func (r *Ring) rotate(s *slot, ep int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.epoch.Load() >= ep {
		return // another recorder did it
	}
	s.sum.Store(0)
	for i := range s.fine {
		s.fine[i].Store(0)
	}
	for i := range s.coarse {
		s.coarse[i].Store(0)
		s.cerrs[i].Store(0)
	}
	s.epoch.Store(ep)
}

// Summary is what a window held: counts, the fine and coarse distributions, and how long a
// span of time they cover.
type Summary struct {
	Count, Errors uint64
	Sum           time.Duration
	Covered       time.Duration // the window's length as of the read (shorter while the ring fills)
	Fine          [NumBuckets]uint64
	Coarse        [NumCoarse]uint64
	CoarseErrors  [NumCoarse]uint64
}

// Read adds the slots of the window ending at now (Unix nanoseconds) into s, which it resets
// first. since (Unix nanoseconds, 0 for none) is when recording began: a window is never said
// to cover more time than that.
func (r *Ring) Read(now, since int64, s *Summary) {
	*s = Summary{}
	cur := now/r.interval + 1
	oldest := cur - int64(len(r.slots)) + 1
	r.mu.Lock()
	for i := range r.slots {
		sl := &r.slots[i]
		if ep := sl.epoch.Load(); ep < oldest || ep > cur {
			continue
		}
		s.Sum += time.Duration(sl.sum.Load())
		for j := range sl.fine {
			if n := sl.fine[j].Load(); n != 0 {
				s.Fine[j] += uint64(n)
			}
		}
		for j := range sl.coarse {
			s.Coarse[j] += uint64(sl.coarse[j].Load())
			s.CoarseErrors[j] += uint64(sl.cerrs[j].Load())
		}
	}
	r.mu.Unlock()
	for j := range s.Coarse {
		s.Count += s.Coarse[j]
		s.Errors += s.CoarseErrors[j]
	}
	covered := now - (oldest-1)*r.interval // from the start of the oldest slot to now
	if since > 0 && now-since < covered {
		covered = now - since
	}
	s.Covered = time.Duration(max(covered, 0))
}

// Quantile returns the nearest-rank q-quantile (0 < q <= 1) of the durations in s, within
// 1/64 of the exact one (see the package doc); 0 when s is empty.
func (s *Summary) Quantile(q float64) time.Duration {
	var total uint64
	for _, n := range s.Fine {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i, n := range s.Fine {
		if seen += n; seen >= rank {
			return time.Duration(estimate(i))
		}
	}
	return time.Duration(estimate(NumBuckets - 1))
}

// Rate returns the count per second over the window's covered time.
func (s *Summary) Rate() float64 {
	if s.Covered <= 0 {
		return 0
	}
	return float64(s.Count) / s.Covered.Seconds()
}

// SlotSize is the memory one interval's histogram takes.
const SlotSize = unsafe.Sizeof(slot{})
