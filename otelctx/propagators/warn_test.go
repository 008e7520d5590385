package propagators

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
)

// testClock is a settable clock for WarnLimiter tests.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type testSink struct {
	mu   sync.Mutex
	errs []error
}

func (s *testSink) sink(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *testSink) reports() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func TestWarnLimiterOneReportPerInterval(t *testing.T) {
	var clock testClock
	clock.advance(time.Hour)
	var s testSink
	l := NewWarnLimiter(time.Minute, s.sink)
	l.now = clock.now
	for i := 0; i < 1000; i++ {
		l.Warn("traceparent", "invalid")
	}
	if got := len(s.reports()); got != 1 {
		t.Fatalf("%d reports for 1000 warnings within one interval, want 1", got)
	}
	clock.advance(59 * time.Second)
	l.Warn("baggage", "invalid")
	if got := len(s.reports()); got != 1 {
		t.Fatalf("%d reports before the interval passed, want 1", got)
	}
	clock.advance(time.Second)
	l.Warn("x-request-id", "unsafe")
	reports := s.reports()
	if len(reports) != 2 {
		t.Fatalf("%d reports after the interval, want 2", len(reports))
	}
	var hw *HeaderWarning
	if !errors.As(reports[1], &hw) || !errors.Is(reports[1], ErrBadHeader) {
		t.Fatalf("report %T %v does not wrap ErrBadHeader", reports[1], reports[1])
	}
	if hw.Header != "x-request-id" || hw.Suppressed != 1000 {
		t.Fatalf("second report %+v, want x-request-id with 1000 suppressed", hw)
	}
	if !strings.Contains(hw.Error(), "1000 more") {
		t.Fatalf("message %q does not count the suppressed warnings", hw.Error())
	}
	if l.Total() != 1002 {
		t.Fatalf("Total = %d, want 1002", l.Total())
	}
	var nilLimiter *WarnLimiter
	nilLimiter.Warn("traceparent", "invalid") // must not panic
}

func TestWarnLimiterDefaultSinkIsOTelHandle(t *testing.T) {
	var s testSink
	old := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(s.sink))
	defer otel.SetErrorHandler(old)
	l := NewWarnLimiter(0, nil)
	l.Warn("traceparent", "invalid")
	l.Warn("traceparent", "invalid")
	if r := s.reports(); len(r) != 1 || !errors.Is(r[0], ErrBadHeader) {
		t.Fatalf("reports %v", r)
	}
}
