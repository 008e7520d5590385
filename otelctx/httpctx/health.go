package httpctx

import (
	"runtime"
	"sync"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"go.opentelemetry.io/otel/metric"
)

// AttrHeader names the header a bad-header count is about (ctxtrail.http.bad_headers).
const AttrHeader = "ctxtrail.header"

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
func (w *ownWarnMetrics) track(mp metric.MeterProvider, l *propagators.WarnLimiter) {
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
