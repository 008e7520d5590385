package zapbridge

import (
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// idCacheSlots is how many spans' encoded IDs an idCache keeps. A request logs several lines from
// the same span, so the hex strings are made once per span instead of once per line; a slot
// costs one pointer, plus about 150 bytes while it holds a span.
const idCacheSlots = 512

// spanIDs is one span's IDs, hex-encoded. It is immutable once stored.
type spanIDs struct {
	traceID trace.TraceID
	spanID  trace.SpanID
	trace   string
	span    string
	parent  string // "" when the parent is unknown or not asked for
}

// idCache maps a span to its encoded IDs: a direct-mapped table indexed by the span ID's low
// bits (random, so evenly spread). A collision just replaces the slot; readers never block.
type idCache struct {
	withParent bool
	slots      [idCacheSlots]atomic.Pointer[spanIDs]
}

// lookup returns span's encoded IDs; tid and sid are span's and valid.
func (c *idCache) lookup(span trace.Span, tid trace.TraceID, sid trace.SpanID) *spanIDs {
	slot := &c.slots[binary.LittleEndian.Uint64(sid[:])%idCacheSlots]
	if e := slot.Load(); e != nil && e.spanID == sid && e.traceID == tid {
		return e
	}
	e := encodeIDs(span, tid, sid, c.withParent)
	slot.Store(e)
	return e
}

// encodeIDs hex-encodes the IDs with two allocations: the struct and one string that the three
// IDs share.
func encodeIDs(span trace.Span, tid trace.TraceID, sid trace.SpanID, withParent bool) *spanIDs {
	var buf [64]byte
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
	s := string(buf[:n])
	return &spanIDs{traceID: tid, spanID: sid, trace: s[:32], span: s[32:48], parent: s[48:n]}
}
