package baggage

import (
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultWarnInterval is how often, at most, a Propagator reports dropped baggage when no
// WithWarnInterval is given.
const DefaultWarnInterval = time.Minute

// warner passes at most one error per interval to a sink and counts the rest, so a flood of bad
// headers costs one report per interval. It holds no goroutine and no buffer.
type warner struct {
	sink       func(error)
	interval   time.Duration
	now        func() time.Time
	next       atomic.Int64 // UnixNano before which errors are only counted
	total      atomic.Uint64
	suppressed atomic.Uint64
}

func (w *warner) warn(err error) {
	w.total.Add(1)
	now := w.now().UnixNano()
	next := w.next.Load()
	if now < next || !w.next.CompareAndSwap(next, now+int64(w.interval)) {
		w.suppressed.Add(1)
		return
	}
	if n := w.suppressed.Swap(0); n > 0 {
		err = fmt.Errorf("%w (and %d more not reported; at most one report per %v)", err, n, w.interval)
	}
	w.sink(err)
}
