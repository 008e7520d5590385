package otelctx

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// spanAttrs is a reusable buffer for one span's attributes and start options, for NewHandler
// and Transport. Span attributes go through an interface (trace.WithAttributes boxes its slice,
// span.SetAttributes takes it as a variadic argument), so a buffer on the stack would escape
// anyway; a pooled one costs no allocation and about a kilobyte less per span.
//
// Reuse is safe because nothing keeps what it is given: trace.NewSpanStartConfig copies the
// attributes out of the options, and the SDK's span copies what SetAttributes and the config
// hand it. A buffer goes back to the pool only after the span has ended.
type spanAttrs struct {
	kv    [maxSpanAttrs]attribute.KeyValue
	opts  [4]trace.SpanStartOption
	boxed [maxSpanAttrs + 1]trace.SpanStartOption // boxed[n] is trace.WithAttributes(kv[:n]...)
}

// maxSpanAttrs bounds a server span's start attributes (13 at most, with the caller's request
// ID at a trust boundary) and its end attributes (6 at most), and a client span's (8 at most).
const maxSpanAttrs = 16

var spanAttrsPool = sync.Pool{New: func() any { return new(spanAttrs) }}

func getSpanAttrs() *spanAttrs { return spanAttrsPool.Get().(*spanAttrs) }

// attrs returns the buffer, empty, to append to.
func (b *spanAttrs) attrs() []attribute.KeyValue { return b.kv[:0] }

// withAttributes returns trace.WithAttributes(kvs...), boxed once per buffer and length when kvs
// is the buffer's own slice (it always is, unless an append outgrew the buffer).
func (b *spanAttrs) withAttributes(kvs []attribute.KeyValue) trace.SpanStartOption {
	if len(kvs) == 0 || &kvs[0] != &b.kv[0] {
		return trace.WithAttributes(kvs...)
	}
	o := b.boxed[len(kvs)]
	if o == nil {
		o = trace.WithAttributes(b.kv[:len(kvs)]...)
		b.boxed[len(kvs)] = o
	}
	return o
}

// release clears what the buffer holds (the request's strings, links) and pools it.
func (b *spanAttrs) release() {
	clear(b.kv[:])
	clear(b.opts[:])
	spanAttrsPool.Put(b)
}
