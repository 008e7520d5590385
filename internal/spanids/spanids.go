// Package spanids holds a span's IDs hex-encoded for log lines, and a Slot a context node can
// keep them in. It is what internal/logctx (the bridges' shared part) and otelctx (whose
// request node has a slot for the server span) both need, below both.
package spanids

import (
	"context"
	"encoding/hex"
	"sync/atomic"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// IDs is one span's IDs, hex-encoded. It is immutable once published.
type IDs struct {
	TraceID trace.TraceID
	SpanID  trace.SpanID
	Trace   string
	Span    string
	Parent  string   // "" when the parent is unknown or not asked for
	hex     [64]byte // the bytes behind the three strings, written once by fill
}

// Encode hex-encodes the IDs with one allocation: the three strings point into the struct's own
// buffer, which is never written again once Encode returns.
func Encode(span trace.Span, tid trace.TraceID, sid trace.SpanID, withParent bool) *IDs {
	e := new(IDs)
	e.fill(span, tid, sid, withParent)
	return e
}

func (e *IDs) fill(span trace.Span, tid trace.TraceID, sid trace.SpanID, withParent bool) {
	e.TraceID, e.SpanID = tid, sid
	buf := &e.hex
	hex.Encode(buf[:32], tid[:])
	hex.Encode(buf[32:48], sid[:])
	n := 48
	if withParent {
		// Only a local SDK span knows its parent (sdktrace.ReadOnlySpan's Parent; asked through an
		// interface so that the log bridges do not compile the SDK); a remote or non-recording one
		// has no parent here.
		if ro, ok := span.(interface{ Parent() trace.SpanContext }); ok {
			if p := ro.Parent(); p.HasSpanID() {
				pid := p.SpanID()
				hex.Encode(buf[48:64], pid[:])
				n = 64
			}
		}
	}
	s := unsafe.String(&buf[0], n)
	e.Trace, e.Span, e.Parent = s[:32], s[32:48], s[48:n]
}

// Slot is room for one span's IDs inside an object its context already allocates, such as
// otelctx's request node: the first line logged in that span fills it instead of allocating.
// The first span to ask claims it; lines of other spans under the same node encode their own.
type Slot struct {
	state atomic.Uint32 // slotEmpty, slotFilling, slotReady
	ids   IDs
}

const (
	slotEmpty uint32 = iota
	slotFilling
	slotReady
)

// Key is the context key a node answers with its *Slot.
var Key any = &keyType{}

type keyType struct{}

// FromContext returns the slot ctx's nearest node holds, or nil.
func FromContext(ctx context.Context) *Slot {
	s, _ := ctx.Value(Key).(*Slot)
	return s
}

// IDs returns span's IDs from the slot, filling it (with the parent, when known) if it is empty;
// nil when the slot holds another span's IDs or another goroutine is filling it just now.
func (s *Slot) IDs(span trace.Span, tid trace.TraceID, sid trace.SpanID) *IDs {
	switch s.state.Load() {
	case slotReady:
		if s.ids.SpanID == sid && s.ids.TraceID == tid {
			return &s.ids
		}
		return nil
	case slotEmpty:
		if s.state.CompareAndSwap(slotEmpty, slotFilling) {
			s.ids.fill(span, tid, sid, true)
			s.state.Store(slotReady)
			return &s.ids
		}
	}
	return nil
}
