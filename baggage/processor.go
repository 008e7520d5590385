package baggage

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanProcessor copies chosen baggage members onto every span as it starts, as string
// attributes named by the member key (user.id, tenant.id…), like the contrib baggagecopy
// processor but with a Filter, so that only members you chose, and that passed the trust
// boundary, become attributes. Plug it in with ctxtrail.WithSpanProcessor or
// sdktrace.WithSpanProcessor.
//
// It reads the baggage of the context the span is started with, so a span started from a
// context without baggage costs one context lookup. It holds no state and no goroutine.
type SpanProcessor struct {
	filter Filter
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// copyBuf is how many attributes OnStart gathers on the stack before SetAttributes.
const copyBuf = 8

// NewSpanProcessor returns a SpanProcessor copying the members f chooses. The zero Filter
// copies nothing.
func NewSpanProcessor(f Filter) *SpanProcessor { return &SpanProcessor{filter: f} }

// OnStart copies the chosen members of parent's baggage onto s.
func (p *SpanProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if parent == nil || s == nil || p.filter.empty() || otelbaggage.FromContext(parent).Len() == 0 {
		return
	}
	var buf [copyBuf]attribute.KeyValue
	if kvs := AppendAttributes(buf[:0], parent, p.filter); len(kvs) > 0 {
		s.SetAttributes(kvs...)
	}
}

// OnEnd does nothing.
func (p *SpanProcessor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing: the processor holds nothing to flush or stop.
func (p *SpanProcessor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (p *SpanProcessor) ForceFlush(context.Context) error { return nil }
