// Package logctx holds what zapbridge and slogbridge share: the encoded IDs of recent spans.
package logctx

import (
	"context"
	"encoding/binary"
	"sync/atomic"

	"github.com/ctxtrail/ctxtrail/internal/spanids"
	"go.opentelemetry.io/otel/trace"
)

// CacheSlots is how many spans' encoded IDs an IDCache keeps. A request logs several lines from
// the same span, so the hex strings are made once per span instead of once per line; a slot
// costs one pointer, plus about 150 bytes while it holds a span.
const CacheSlots = 512

// SpanIDs is one span's IDs, hex-encoded. It is immutable once stored.
type SpanIDs = spanids.IDs

// IDCache maps a span to its encoded IDs: a direct-mapped table indexed by the span ID's low
// bits (random, so evenly spread). A collision just replaces the slot; readers never block.
type IDCache struct {
	WithParent bool // encode the parent span ID too
	slots      [CacheSlots]atomic.Pointer[SpanIDs]
}

// Lookup returns span's encoded IDs; tid and sid are span's and valid. On a miss it uses the slot
// the context's nearest node keeps for its span (otelctx's request node, for the server span)
// before it encodes a new entry. A slot's IDs are not cached: the cache would keep the node, and
// all it holds, alive long after its request. ctx may be nil.
func (c *IDCache) Lookup(ctx context.Context, span trace.Span, tid trace.TraceID, sid trace.SpanID) *SpanIDs {
	if e := c.cached(tid, sid); e != nil {
		return e
	}
	if ctx != nil {
		if s := spanids.FromContext(ctx); s != nil {
			if e := s.IDs(span, tid, sid); e != nil {
				return e
			}
		}
	}
	return c.store(spanids.Encode(span, tid, sid, c.WithParent))
}

// cached returns the slot's entry when it is sid's, else nil.
func (c *IDCache) cached(tid trace.TraceID, sid trace.SpanID) *SpanIDs {
	if e := c.slot(sid).Load(); e != nil && e.SpanID == sid && e.TraceID == tid {
		return e
	}
	return nil
}

func (c *IDCache) store(e *SpanIDs) *SpanIDs {
	c.slot(e.SpanID).Store(e)
	return e
}

func (c *IDCache) slot(sid trace.SpanID) *atomic.Pointer[SpanIDs] {
	return &c.slots[binary.LittleEndian.Uint64(sid[:])%CacheSlots]
}

// Encode hex-encodes the IDs with one allocation (spanids.Encode).
func Encode(span trace.Span, tid trace.TraceID, sid trace.SpanID, withParent bool) *SpanIDs {
	return spanids.Encode(span, tid, sid, withParent)
}
