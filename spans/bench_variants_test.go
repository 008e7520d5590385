//go:build unix

package spans

import (
	"context"
	"math"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// monitorVariant is the Monitor with one part of its span path changed or left out, for
// BenchmarkMonitorVariants only: what each part costs end to end. Some variants break what
// the monitor promises (no-lock is safe with one goroutine only; no-pointer and no-list cannot
// list spans); none is for use.
type monitorVariant struct {
	*Monitor
	variant string
}

func (v *monitorVariant) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	m := v.Monitor
	switch v.variant {
	case "no-list":
		return
	case "no-lock", "no-pointer":
		sc := s.SpanContext()
		key := spanKey(sc.SpanID())
		sh, idx := m.place(key)
		e := entry{span: s, trace: traceKey(sc.TraceID())}
		if v.variant == "no-pointer" {
			e.span = nil
			sh.mu.Lock()
			defer sh.mu.Unlock()
		}
		if !(sh.n < sh.cap && sh.put(key, idx, e)) {
			m.overflow.Add(1)
		}
		return
	}
	m.OnStart(ctx, s)
}

func (v *monitorVariant) OnEnd(s sdktrace.ReadOnlySpan) {
	m := v.Monitor
	sc := s.SpanContext()
	stripe := stripeOf(sc.SpanID()[0])
	key := spanKey(sc.SpanID())
	sh, idx := m.place(key)
	var name string
	var kind int
	if v.variant != "live-getters" {
		name, kind = clipName(s.Name()), kindIndex(s.SpanKind())
	}
	if v.variant != "no-lock" {
		sh.mu.Lock()
		defer sh.mu.Unlock()
	}
	listed := true
	switch v.variant {
	case "no-list":
	case "keep-pointer": // free the slot but leave the span in it until the next start
		if sl := &sh.slots[idx]; sl.key == key {
			sl.key = 0
			sh.n--
		} else {
			listed = sh.take(key, idx, traceKey(sc.TraceID()))
		}
	case "live-getters": // the monitor before #19: the live span's getters, under the lock
		var live sdktrace.ReadWriteSpan
		if sl := &sh.slots[idx]; sl.key == key {
			live = sl.e.span
		} else {
			live = sh.spans[key].span
		}
		if listed = sh.take(key, idx, traceKey(sc.TraceID())); listed {
			name, kind = clipName(live.Name()), kindIndex(live.SpanKind())
		}
	default:
		listed = sh.take(key, idx, traceKey(sc.TraceID()))
	}
	if !listed {
		m.untracked.stripes[stripe].kinds[kind].ended.Add(1)
		return
	}
	if sh.last == nil || sh.last.name != name || sh.pend[kind] == math.MaxUint32 {
		m.flush(sh, stripe)
		sh.last = m.namesFor(name)
	}
	sh.pend[kind]++
}

// BenchmarkMonitorVariants pairs the Monitor as shipped (with the idle hooks, as in
// hooks+monitor) against the same setup with one part of the monitor changed, in one process
// (internal/pairbench): diff-ns/op and cpu-diff-ns/op are what the change adds per span
// (negative: what it saves), ratio and cpu-ratio the variant over the shipped monitor. The
// variant "bare" has no monitor and no hooks: minus the whole cost; "shipped" is the A/A
// control.
func BenchmarkMonitorVariants(b *testing.B) {
	withMonitor := func(variant string) []sdktrace.SpanProcessor {
		hooks := NewProcessor(WithHooks(idleHooks))
		switch variant {
		case "bare":
			return nil
		case "shipped":
			return []sdktrace.SpanProcessor{hooks, NewMonitor()}
		}
		return []sdktrace.SpanProcessor{hooks, &monitorVariant{Monitor: NewMonitor(), variant: variant}}
	}
	for _, variant := range []string{"shipped", "bare", "live-getters", "keep-pointer", "no-lock", "no-pointer", "no-list"} {
		b.Run("variant="+variant, func(b *testing.B) {
			r := pairbench.Run(b, *pairBlock, spanSide(b, withMonitor("shipped")), spanSide(b, withMonitor(variant)))
			b.ReportMetric(r.WallDiff, "diff-ns/op")
			b.ReportMetric(r.CPUDiff, "cpu-diff-ns/op")
			b.ReportMetric(r.WallRatio, "ratio")
			b.ReportMetric(r.CPURatio, "cpu-ratio")
		})
	}
}
