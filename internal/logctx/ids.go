// Package logctx holds what zapbridge and slogbridge share: the encoded IDs of recent spans.
package logctx

import (
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"unsafe"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// CacheSlots is how many spans' encoded IDs an IDCache keeps. A request logs several lines from
// the same span, so the hex strings are made once per span instead of once per line; a slot
// costs one pointer, plus about 150 bytes while it holds a span.
const CacheSlots = 512

// SpanIDs is one span's IDs, hex-encoded. It is immutable once stored.
type SpanIDs struct {
	traceID trace.TraceID
	spanID  trace.SpanID
	Trace   string
	Span    string
	Parent  string   // "" when the parent is unknown or not asked for
	hex     [64]byte // the bytes behind the three strings, written once by Encode
}

// IDCache maps a span to its encoded IDs: a direct-mapped table indexed by the span ID's low
// bits (random, so evenly spread). A collision just replaces the slot; readers never block.
type IDCache struct {
	WithParent bool // encode the parent span ID too
	slots      [CacheSlots]atomic.Pointer[SpanIDs]
}

// Lookup returns span's encoded IDs; tid and sid are span's and valid.
func (c *IDCache) Lookup(span trace.Span, tid trace.TraceID, sid trace.SpanID) *SpanIDs {
	slot := &c.slots[binary.LittleEndian.Uint64(sid[:])%CacheSlots]
	if e := slot.Load(); e != nil && e.spanID == sid && e.traceID == tid {
		return e
	}
	e := Encode(span, tid, sid, c.WithParent)
	slot.Store(e)
	return e
}

// Encode hex-encodes the IDs with one allocation: the three strings point into the struct's own
// buffer, which is never written again once Encode returns (a log line per span pays for one
// object instead of two).
func Encode(span trace.Span, tid trace.TraceID, sid trace.SpanID, withParent bool) *SpanIDs {
	e := &SpanIDs{traceID: tid, spanID: sid}
	buf := &e.hex
	hex.Encode(buf[:32], tid[:])
	hex.Encode(buf[32:48], sid[:])
	n := 48
	if withParent {
		// Only a local SDK span knows its parent; a remote or non-recording one has no parent here.
		if ro, ok := span.(sdktrace.ReadOnlySpan); ok {
			if p := ro.Parent(); p.HasSpanID() {
				pid := p.SpanID()
				hex.Encode(buf[48:64], pid[:])
				n = 64
			}
		}
	}
	s := unsafe.String(&buf[0], n)
	e.Trace, e.Span, e.Parent = s[:32], s[32:48], s[48:n]
	return e
}
