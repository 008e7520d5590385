// Package attrbuf is a pooled buffer for the attributes and options ctxtrail hands the
// OpenTelemetry API per span or span event: otelctx's server and client spans, and spans/trail's
// breadcrumb events.
//
// Attributes and options go through interfaces (trace.WithAttributes boxes its slice, a
// variadic option list escapes, span.SetAttributes takes its slice through the Span interface),
// so a buffer on the stack would move to the heap anyway. A pooled one costs no allocation, and
// the boxed trace.WithAttributes of each length is made once per buffer.
//
// Reuse is safe only when nothing keeps what it is given. The SDK keeps nothing: its tracer
// reads the options through trace.NewSpanStartConfig, which copies the attributes, and its span
// copies what SetAttributes and AddEvent hand it. Another tracer or span may keep the option
// slice or the attribute slice it was handed (nothing in the API forbids it), so For hands out a
// pooled buffer only for a tracer or span of a package known to copy (Copies), and a buffer of
// its own, never reused, for any other. Put a pooled buffer back only when the calls that were
// given its contents have returned.
package attrbuf

import (
	"reflect"
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
	own   bool                                 // not pooled: Release leaves it to its keeper
}

var pool = sync.Pool{New: func() any { return new(Buf) }}

// Get returns a buffer from the pool, for a tracer or span known to copy what it is given.
func Get() *Buf { return pool.Get().(*Buf) }

// For returns a pooled buffer when the tracer or span v copies what it is given (Copies), and
// otherwise a buffer of its own, whose every Attrs is a new slice and which Release leaves alone,
// so that v may keep what it is handed.
func For(v any) *Buf { return ForCopies(Copies(v)) }

// ForCopies is For with the answer of Copies already known (cached with the tracer).
func ForCopies(copies bool) *Buf {
	if copies {
		return Get()
	}
	return &Buf{own: true}
}

// Copies reports whether v, a tracer or a span, comes from a package known to keep nothing of
// the attributes and options it is handed: the SDK's (go.opentelemetry.io/otel/sdk/trace) and
// the no-op ones. Anything else may keep them, so its buffers must not be reused.
func Copies(v any) bool {
	t := reflect.TypeOf(v)
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.PkgPath() {
	case "go.opentelemetry.io/otel/sdk/trace", // copies: NewSpanStartConfig, SetAttributes, AddEvent
		"go.opentelemetry.io/otel/trace/noop", // keeps nothing
		"go.opentelemetry.io/otel/trace":      // its non-recording span and deprecated no-op tracer keep nothing
		return true
	}
	return false
}

// Attrs returns the buffer's attributes, empty, to append to. A span's start and end attributes
// share a pooled buffer, whose span copied the first before the second are written; a buffer of
// its own (For) hands out a fresh slice each time, since its span may read the first still.
func (b *Buf) Attrs() []attribute.KeyValue {
	if b.own {
		return make([]attribute.KeyValue, 0, 16)
	}
	return b.KV[:0]
}

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

// Release clears what the buffer holds (request strings, links, timestamps) and pools it; a
// buffer For made for a tracer that may keep its contents is left as it is. Every attribute slot
// is cleared, not only those before the first empty key: an attribute with an empty key would
// leave the request data after it in the pool.
func (b *Buf) Release() {
	if b.own {
		return
	}
	clear(b.KV[:])
	clear(b.Start[:])
	clear(b.Event[:])
	pool.Put(b)
}
