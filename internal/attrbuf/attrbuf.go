// Package attrbuf is a pooled buffer for the attributes and options ctxtrail hands the
// OpenTelemetry API per span or span event: otelctx's server and client spans, and spans/trail's
// breadcrumb events.
//
// Attributes and options go through interfaces (trace.WithAttributes boxes its slice, a
// variadic option list escapes, span.SetAttributes takes its slice through the Span interface),
// so a buffer on the stack would move to the heap anyway. A pooled one costs no allocation, and
// the boxed trace.WithAttributes of each length is made once per buffer.
//
// Reuse is safe because nothing keeps what it is given: trace.NewSpanStartConfig and
// trace.NewEventConfig copy the attributes out of the options, and the SDK's span copies what
// SetAttributes and the configs hand it. Put a buffer back only when the calls that were given
// its contents have returned.
package attrbuf

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Size bounds what one buffer holds: a server span's start attributes (13 at most, with the
// caller's request ID at a trust boundary) or end attributes (6), a client span's (8), or a
// breadcrumb event's (3 and the crumb's data, whose bound is trail.MaxData, 32).
const Size = 40

// Buf holds one span's or event's attributes and options.
type Buf struct {
	KV    [Size]attribute.KeyValue
	Start [4]trace.SpanStartOption
	Event [2]trace.EventOption
	boxed [Size + 1]trace.SpanStartEventOption // boxed[n] is trace.WithAttributes(KV[:n]...)
}

var pool = sync.Pool{New: func() any { return new(Buf) }}

// Get returns a buffer from the pool.
func Get() *Buf { return pool.Get().(*Buf) }

// Attrs returns the buffer's attributes, empty, to append to.
func (b *Buf) Attrs() []attribute.KeyValue { return b.KV[:0] }

// WithAttributes returns trace.WithAttributes(kvs...), boxed once per buffer and length when
// kvs is the buffer's own slice (it always is, unless an append outgrew the buffer).
func (b *Buf) WithAttributes(kvs []attribute.KeyValue) trace.SpanStartEventOption {
	if len(kvs) == 0 || &kvs[0] != &b.KV[0] {
		return trace.WithAttributes(kvs...)
	}
	o := b.boxed[len(kvs)]
	if o == nil {
		o = trace.WithAttributes(b.KV[:len(kvs)]...)
		b.boxed[len(kvs)] = o
	}
	return o
}

// Release clears what the buffer holds (request strings, links, timestamps) and pools it.
// Attributes are only ever appended from the start, so the written ones end at the first empty.
func (b *Buf) Release() {
	n := 0
	for n < len(b.KV) && b.KV[n].Key != "" {
		n++
	}
	clear(b.KV[:n])
	clear(b.Start[:])
	clear(b.Event[:])
	pool.Put(b)
}
