package httpctx

import (
	"context"
	"reflect"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// AttrHeader names the header a bad-header count is about (ctxtrail.http.bad_headers).
const AttrHeader = "ctxtrail.header"

// The headers a WarnLimiter counts separately; anything else counts as "other".
var warnHeaders = [...]string{headerTraceparent, headerTracestate, headerBaggage, HeaderTraceID, HeaderSpanID, HeaderRequestID, "other"}

const numWarnHeaders = len(warnHeaders)

func warnHeaderIndex(header string) int {
	for i, h := range warnHeaders[:numWarnHeaders-1] {
		if h == header {
			return i
		}
	}
	return numWarnHeaders - 1
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
			out[warnHeaders[i]] = n
		}
	}
	return out
}

// maxWarnLimiters bounds how many limiters one meter provider's bad-header metric sums.
const maxWarnLimiters = 1024

// warnMetrics sums the bad-header counts of the WarnLimiters of every handler that records
// metrics with one meter provider, into ctxtrail.http.bad_headers{ctxtrail.header}.
type warnMetrics struct {
	mu       sync.Mutex
	limiters []*WarnLimiter
}

var warnRegistry sync.Map // metric.MeterProvider → *warnMetrics

// registerWarnLimiter adds l to the bad-header metric of mp (once per limiter and provider).
func registerWarnLimiter(mp metric.MeterProvider, l *WarnLimiter) {
	if l == nil || !reflect.TypeOf(mp).Comparable() {
		return
	}
	if _, off := mp.(noop.MeterProvider); off {
		return
	}
	v, loaded := warnRegistry.LoadOrStore(mp, &warnMetrics{})
	wm := v.(*warnMetrics)
	if !loaded {
		m := mp.Meter(ScopeName)
		c, err := m.Int64ObservableCounter("ctxtrail.http.bad_headers", metric.WithUnit("{header}"),
			metric.WithDescription("Bad incoming trace headers (refused or repaired) by header name, as the WarnLimiters counted them."))
		if err == nil {
			opts := make([]metric.ObserveOption, numWarnHeaders)
			for i, h := range warnHeaders {
				opts[i] = metric.WithAttributes(attribute.String(AttrHeader, h))
			}
			_, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
				wm.mu.Lock()
				defer wm.mu.Unlock()
				var sums [numWarnHeaders]uint64
				for _, l := range wm.limiters {
					for i := range sums {
						sums[i] += l.byHeader[i].Load()
					}
				}
				for i, n := range sums {
					o.ObserveInt64(c, int64(n), opts[i])
				}
				return nil
			}, c)
		}
	}
	wm.mu.Lock()
	defer wm.mu.Unlock()
	for _, have := range wm.limiters {
		if have == l {
			return
		}
	}
	if len(wm.limiters) < maxWarnLimiters {
		wm.limiters = append(wm.limiters, l)
	}
}
