package httpctx

import (
	"context"
	"runtime"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
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

// RegisterMetrics publishes the limiter's counts on mp as ctxtrail.http.bad_headers{ctxtrail.header}:
// an observable counter read at collection, so Warn pays nothing for it. The caller owns the
// Registration and unregisters it when the limiter's handlers are done (nothing else does).
// Several limiters registered with one provider add up; registering one limiter twice with the
// same provider counts it twice.
//
// The Provider that ctxtrail.Install returns registers its own WarnLimiter with its own
// MeterProvider and unregisters it at Shutdown, so handlers given WithProvider need nothing
// more; a handler's default limiter is registered by the handler (see WithWarnLimiter).
func (l *WarnLimiter) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	m := mp.Meter(ScopeName)
	c, err := m.Int64ObservableCounter("ctxtrail.http.bad_headers", metric.WithUnit("{header}"),
		metric.WithDescription("Bad incoming trace headers (refused or repaired) by header name, as the WarnLimiters counted them."))
	if err != nil {
		return nil, err
	}
	opts := make([]metric.ObserveOption, numWarnHeaders)
	for i, h := range warnHeaders {
		opts[i] = metric.WithAttributes(attribute.String(AttrHeader, h))
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

// ownWarnMetrics is the registration of a handler's own default limiter (one it made because
// it was given neither WithProvider nor WithWarnLimiter) with the meter provider it records
// with. The handler holds it: it moves when the provider changes and is released when the
// handler is garbage (a handler has no Shutdown), so a long-lived provider does not keep the
// limiters of handlers long gone.
type ownWarnMetrics struct {
	mu  sync.Mutex
	mp  metric.MeterProvider
	reg metric.Registration
}

// track registers l with mp, unregistering it from the provider before.
func (w *ownWarnMetrics) track(mp metric.MeterProvider, l *WarnLimiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mp == mp && w.reg != nil {
		return
	}
	w.release()
	if reg, err := l.RegisterMetrics(mp); err == nil {
		w.mp, w.reg = mp, reg
	}
}

// drop unregisters the limiter: the handler now records with a provider that records nothing.
func (w *ownWarnMetrics) drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.release()
}

// release unregisters the limiter. Callers hold w.mu.
func (w *ownWarnMetrics) release() {
	if w.reg != nil {
		_ = w.reg.Unregister()
	}
	w.mp, w.reg = nil, nil
}

// newOwnWarnMetrics returns the registration holder of a handler whose meters are m: released
// when m, which only the handler holds, is collected.
func newOwnWarnMetrics(m *httpMeters) *ownWarnMetrics {
	w := new(ownWarnMetrics)
	runtime.AddCleanup(m, (*ownWarnMetrics).drop, w)
	return w
}
