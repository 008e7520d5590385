// Package keepsignal carries the keep signal between the in-process capture (spans/keep) and
// the HTTP and gRPC instrumentation, which neither imports the other: a service that keeps its
// part of a head-unsampled trace says so in its response (Header), and the caller's transport
// or client handler tells its own capture to keep the caller's part too.
//
// The capture's processors register here while they run. The instrumentation asks the
// registered processors through Respond (server side, before the response headers go out) and
// Received (client side, when the response headers or trailers arrive). With no processor
// registered each call costs one atomic load.
package keepsignal

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// Header is the response header (HTTP) and metadata key (gRPC) a service sets when it keeps its
// part of a trace that was not sampled at the head. Its one valid value is Value.
const Header = "x-ctxtrail-keep"

// Value is Header's one valid value.
const Value = "1"

// AttrCalleeKept is set (true) on a client span whose callee said it kept its part; the
// capture's processor keeps the caller's part on seeing it, even without Received.
const AttrCalleeKept = "ctxtrail.keep.callee"

// Decider is a capture processor as the instrumentation sees it. Both methods may be called
// concurrently, from any goroutine.
type Decider interface {
	// Respond reports whether the processor keeps the trace of sc, the span context of a local
	// root (a server span) about to send its response; failed says the response reports an
	// error, which makes the processor keep the trace. A yes is final: the trace is kept
	// whatever happens after.
	Respond(sc trace.SpanContext, failed bool) bool
	// CalleeKept tells the processor that the callee of the client span sc kept its part.
	CalleeKept(sc trace.SpanContext)
	// BadSignal counts a keep signal whose value was not Value.
	BadSignal()
}

var (
	mu       sync.Mutex
	deciders atomic.Pointer[[]Decider]
)

// Register adds d to the processors asked; the returned function removes it (once is enough,
// more is harmless).
func Register(d Decider) (unregister func()) {
	mu.Lock()
	defer mu.Unlock()
	var next []Decider
	if cur := deciders.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, d)
	deciders.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			cur := deciders.Load()
			if cur == nil {
				return
			}
			var rest []Decider
			for _, x := range *cur {
				if x != d {
					rest = append(rest, x)
				}
			}
			if len(rest) == 0 {
				deciders.Store(nil)
				return
			}
			deciders.Store(&rest)
		})
	}
}

// Active reports whether any capture processor is registered.
func Active() bool { return deciders.Load() != nil }

// Respond asks the registered processors whether the trace of the server span sc is kept (see
// Decider.Respond); the caller then sets Header on its response. A span context that was
// sampled at the head needs no signal: the caller's head decision already sampled it.
func Respond(sc trace.SpanContext, failed bool) bool {
	ds := deciders.Load()
	if ds == nil || sc.IsSampled() || !sc.IsValid() {
		return false
	}
	keep := false
	for _, d := range *ds {
		keep = d.Respond(sc, failed) || keep
	}
	return keep
}

// Received hands the values of Header found in a response to the registered processors, for
// the client span sc. Only exactly one value equal to Value is a signal; anything else is
// counted as bad and ignored. It reports whether the signal was accepted.
func Received(sc trace.SpanContext, values []string) bool {
	ds := deciders.Load()
	if ds == nil || len(values) == 0 {
		return false
	}
	if len(values) != 1 || values[0] != Value {
		for _, d := range *ds {
			d.BadSignal()
		}
		return false
	}
	if sc.IsSampled() || !sc.IsValid() {
		return false
	}
	for _, d := range *ds {
		d.CalleeKept(sc)
	}
	return true
}
