package trail

import (
	"context"
	"sync"
)

// Sink receives the reports Capture builds. Send is called on the request's goroutine and must
// not block it: an asynchronous sink queues the report (a bounded queue that drops, and counts,
// what does not fit) and must not keep ctx, which may end as soon as Send returns. A sink may
// be called concurrently and must treat the report as read-only.
type Sink interface {
	Send(ctx context.Context, r *Report)
}

// SinkFunc is a synchronous Sink: Send calls the function on the request's goroutine. It suits
// tests and sinks that only count or filter; anything that does I/O belongs behind a queue.
type SinkFunc func(ctx context.Context, r *Report)

// Send calls f.
func (f SinkFunc) Send(ctx context.Context, r *Report) { f(ctx, r) }

// MemorySink is a synchronous Sink that keeps the last reports in memory, for tests. Create it
// with NewMemorySink.
type MemorySink struct {
	mu      sync.Mutex
	limit   int
	reports []*Report
	dropped int
}

// NewMemorySink returns a MemorySink that keeps at most limit reports (at least one); past it
// the oldest are dropped and counted.
func NewMemorySink(limit int) *MemorySink {
	return &MemorySink{limit: max(limit, 1)}
}

// Send keeps r.
func (s *MemorySink) Send(_ context.Context, r *Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == s.limit {
		copy(s.reports, s.reports[1:])
		s.reports = s.reports[:len(s.reports)-1]
		s.dropped++
	}
	s.reports = append(s.reports, r)
}

// Reports returns the reports kept, oldest first.
func (s *MemorySink) Reports() []*Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Report(nil), s.reports...)
}

// Dropped returns how many reports the limit pushed out.
func (s *MemorySink) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Reset forgets the reports kept and the drop count.
func (s *MemorySink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports, s.dropped = nil, 0
}

var (
	_ Sink = SinkFunc(nil)
	_ Sink = (*MemorySink)(nil)
)
