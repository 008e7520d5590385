package propagators

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// DefaultWarnInterval is how often, at most, a WarnLimiter made with a zero interval reports.
const DefaultWarnInterval = time.Minute

// ErrBadHeader is wrapped by every warning about bad incoming headers, so an error handler can
// tell them from other OpenTelemetry errors.
var ErrBadHeader = errors.New("otelctx: bad incoming header")

// HeaderWarning is the error a WarnLimiter reports: the bad header that triggered the report
// and how many more warnings were swallowed since the previous report.
type HeaderWarning struct {
	Header     string        // header name, lowercase: "traceparent", "baggage"…; "" in Flush's summary
	Reason     string        // what was wrong, such as "repeated" or "invalid"
	Suppressed uint64        // warnings counted but not reported since the previous report
	Interval   time.Duration // the limiter's interval
}

// Error describes the warning on one line.
func (w *HeaderWarning) Error() string {
	if w.Header == "" { // Flush's summary
		return fmt.Sprintf("%v: %d warnings %s (at most one report per %v)", ErrBadHeader, w.Suppressed, w.Reason, w.Interval)
	}
	if w.Suppressed == 0 {
		return fmt.Sprintf("%v: %s: %s", ErrBadHeader, w.Header, w.Reason)
	}
	return fmt.Sprintf("%v: %s: %s (and %d more bad headers not reported; at most one report per %v)",
		ErrBadHeader, w.Header, w.Reason, w.Suppressed, w.Interval)
}

// Unwrap returns ErrBadHeader.
func (w *HeaderWarning) Unwrap() error { return ErrBadHeader }

// WarnLimiter reports warnings about bad incoming headers to a sink, at most one per interval,
// and counts the rest: a flood of bad headers costs one line per interval, and the next line
// says how many were swallowed. It holds no goroutine and no buffer; Warn is safe for
// concurrent use and allocates only when it reports.
//
// A nil *WarnLimiter drops every warning.
type WarnLimiter struct {
	interval   time.Duration
	sink       func(error)
	now        func() time.Time
	next       atomic.Int64 // UnixNano before which warnings are only counted
	total      atomic.Uint64
	suppressed atomic.Uint64
	byHeader   [wire.NumWarnHeaders]atomic.Uint64
}

// NewWarnLimiter returns a limiter that passes at most one warning per interval to sink, as a
// *HeaderWarning. A zero or negative interval means DefaultWarnInterval. A nil sink means
// otel.Handle: the OpenTelemetry global error handler, which by default writes to the standard
// log package and can be replaced with otel.SetErrorHandler. The sink is called on the request's
// goroutine, so it must not block.
func NewWarnLimiter(interval time.Duration, sink func(error)) *WarnLimiter {
	if interval <= 0 {
		interval = DefaultWarnInterval
	}
	if sink == nil {
		sink = otel.Handle
	}
	return &WarnLimiter{interval: interval, sink: sink, now: time.Now}
}

// Warn counts one bad header and reports it unless a report went out less than an interval ago.
func (l *WarnLimiter) Warn(header, reason string) {
	if l == nil {
		return
	}
	l.total.Add(1)
	l.byHeader[wire.WarnHeaderIndex(header)].Add(1)
	now := l.now().UnixNano()
	next := l.next.Load()
	if now < next || !l.next.CompareAndSwap(next, now+int64(l.interval)) {
		l.suppressed.Add(1)
		return
	}
	l.sink(&HeaderWarning{Header: header, Reason: reason, Suppressed: l.suppressed.Swap(0), Interval: l.interval})
}

// Flush reports now, whatever the interval, the warnings counted but not reported since the last
// report, if there are any: one *HeaderWarning with an empty Header and their number in
// Suppressed. Call it when the process stops (Provider.Shutdown flushes Provider.WarnLimiter) so
// that the last interval's warnings are not lost.
func (l *WarnLimiter) Flush() {
	if l == nil {
		return
	}
	if n := l.suppressed.Swap(0); n > 0 {
		l.sink(&HeaderWarning{Reason: "not reported before shutdown", Suppressed: n, Interval: l.interval})
	}
}

// Total returns how many warnings the limiter has counted, reported or not.
func (l *WarnLimiter) Total() uint64 {
	if l == nil {
		return 0
	}
	return l.total.Load()
}

// LogFields gives the warning as a log message and fields (otelctx.ErrorFields).
func (w *HeaderWarning) LogFields() (string, []attribute.KeyValue) {
	return "bad incoming header", []attribute.KeyValue{
		attribute.String("header", w.Header), attribute.String("reason", w.Reason),
		attribute.Int64("suppressed", int64(w.Suppressed)), attribute.String("interval", w.Interval.String()),
	}
}

// ByHeader returns how many warnings the limiter has counted for each header name, reported or
// not: "traceparent", "tracestate", "baggage", "x-trace-id", "x-span-id", "x-request-id", and
// "other" for the rest. Headers with no warning are left out.
func (l *WarnLimiter) ByHeader() map[string]uint64 {
	out := map[string]uint64{}
	if l == nil {
		return out
	}
	for i := range l.byHeader {
		if n := l.byHeader[i].Load(); n > 0 {
			out[wire.WarnHeaders[i]] = n
		}
	}
	return out
}

// scopeName is the instrumentation scope of the bad-header metric, as of the HTTP handler's spans.
const scopeName = "github.com/ctxtrail/ctxtrail/otelctx"

// RegisterMetrics publishes the limiter's counts on mp as ctxtrail.http.bad_headers{ctxtrail.header}:
// an observable counter read at collection, so Warn pays nothing for it. The caller owns the
// Registration and unregisters it when the limiter's handlers are done (nothing else does).
// Several limiters registered with one provider add up; registering one limiter twice with the
// same provider counts it twice.
//
// The Provider that ctxtrail.Install returns registers its own WarnLimiter with its own
// MeterProvider and unregisters it at Shutdown, so handlers given httpctx.WithProvider need
// nothing more; a handler's default limiter is registered by the handler (see
// httpctx.WithWarnLimiter).
func (l *WarnLimiter) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	m := mp.Meter(scopeName)
	c, err := m.Int64ObservableCounter("ctxtrail.http.bad_headers", metric.WithUnit("{header}"),
		metric.WithDescription("Bad incoming trace headers (refused or repaired) by header name, as the WarnLimiters counted them."))
	if err != nil {
		return nil, err
	}
	opts := make([]metric.ObserveOption, wire.NumWarnHeaders)
	for i, h := range wire.WarnHeaders {
		opts[i] = metric.WithAttributes(attribute.String("ctxtrail.header", h))
	}
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if l == nil {
			return nil
		}
		for i := range l.byHeader {
			o.ObserveInt64(c, int64(l.byHeader[i].Load()), opts[i])
		}
		return nil
	}, c)
}
