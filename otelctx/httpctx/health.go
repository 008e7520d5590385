package httpctx

import (
	"context"
	"reflect"
	"sync"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// AttrHeader names the header a bad-header count is about (ctxtrail.http.bad_headers).
const AttrHeader = "ctxtrail.header"

// maxWarnLimiters bounds how many limiters one meter provider's bad-header metric sums.
const maxWarnLimiters = 1024

// warnMetrics sums the bad-header counts of the WarnLimiters of every handler that records
// metrics with one meter provider, into ctxtrail.http.bad_headers{ctxtrail.header}.
type warnMetrics struct {
	mu       sync.Mutex
	limiters []*propagators.WarnLimiter
}

var warnRegistry sync.Map // metric.MeterProvider → *warnMetrics

// registerWarnLimiter adds l to the bad-header metric of mp (once per limiter and provider).
func registerWarnLimiter(mp metric.MeterProvider, l *propagators.WarnLimiter) {
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
			opts := make([]metric.ObserveOption, wire.NumWarnHeaders)
			for i, h := range wire.WarnHeaders {
				opts[i] = metric.WithAttributes(attribute.String(AttrHeader, h))
			}
			_, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
				wm.mu.Lock()
				defer wm.mu.Unlock()
				var sums [wire.NumWarnHeaders]uint64
				for _, l := range wm.limiters {
					for h, n := range l.ByHeader() {
						sums[wire.WarnHeaderIndex(h)] += n
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
