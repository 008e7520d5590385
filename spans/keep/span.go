package keep

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// keptSpan is a buffered span as the next processors see it: sampled, as the head would have
// made it, with the attributes and events that fit.
type keptSpan struct {
	sdktrace.ReadOnlySpan
	sc, parent    trace.SpanContext
	attrs         []attribute.KeyValue
	events        []sdktrace.Event
	droppedAttrs  int
	droppedEvents int

	size       int64 // estimated bytes held
	root       bool
	cut        bool // attributes or events left out
	calleeKept bool // AttrCalleeKept is set
}

func (k *keptSpan) SpanContext() trace.SpanContext   { return k.sc }
func (k *keptSpan) Parent() trace.SpanContext        { return k.parent }
func (k *keptSpan) Attributes() []attribute.KeyValue { return k.attrs }
func (k *keptSpan) Events() []sdktrace.Event         { return k.events }
func (k *keptSpan) DroppedAttributes() int           { return k.droppedAttrs }
func (k *keptSpan) DroppedEvents() int               { return k.droppedEvents }

// spanOverhead is what a buffered span costs beyond its names and attributes: the SDK's
// snapshot, the wrapper and the buffer's slot, rounded up.
const spanOverhead = 512

// hold makes the buffered form of s: the sampled flag set on its span context (and on a local
// parent's, which is exported too), attributes and events cut to the caps.
func (p *Processor) hold(s sdktrace.ReadOnlySpan, root bool) *keptSpan {
	sc := s.SpanContext()
	ks := &keptSpan{ReadOnlySpan: s, root: root,
		sc:     sc.WithTraceFlags(sc.TraceFlags().WithSampled(true)),
		parent: s.Parent(),
		attrs:  s.Attributes(), events: s.Events(),
		droppedAttrs: s.DroppedAttributes(), droppedEvents: s.DroppedEvents()}
	if ps := ks.parent; ps.IsValid() && !ps.IsRemote() {
		ks.parent = ps.WithTraceFlags(ps.TraceFlags().WithSampled(true))
	}
	if n := len(ks.attrs) - p.cfg.maxAttrs; n > 0 {
		ks.attrs, ks.droppedAttrs, ks.cut = ks.attrs[:p.cfg.maxAttrs], ks.droppedAttrs+n, true
		p.st.droppedAttrs.Add(uint64(n))
	}
	if n := len(ks.events) - p.cfg.maxEvents; n > 0 {
		ks.events, ks.droppedEvents, ks.cut = ks.events[:p.cfg.maxEvents], ks.droppedEvents+n, true
		p.st.droppedEvents.Add(uint64(n))
	}
	size := int64(spanOverhead + len(s.Name()))
	for _, kv := range ks.attrs {
		size += attrSize(kv)
		if kv.Key == AttrCalleeKept && kv.Value.Type() == attribute.BOOL && kv.Value.AsBool() {
			ks.calleeKept = true
		}
	}
	for _, ev := range ks.events {
		size += 64 + int64(len(ev.Name))
		for _, kv := range ev.Attributes {
			size += attrSize(kv)
		}
	}
	ks.size = size + 64*int64(len(s.Links()))
	return ks
}

func attrSize(kv attribute.KeyValue) int64 {
	n := int64(len(kv.Key)) + 32
	switch kv.Value.Type() {
	case attribute.STRING:
		n += int64(len(kv.Value.AsString()))
	case attribute.STRINGSLICE:
		for _, s := range kv.Value.AsStringSlice() {
			n += 16 + int64(len(s))
		}
	case attribute.BOOLSLICE:
		n += int64(len(kv.Value.AsBoolSlice()))
	case attribute.INT64SLICE:
		n += 8 * int64(len(kv.Value.AsInt64Slice()))
	case attribute.FLOAT64SLICE:
		n += 8 * int64(len(kv.Value.AsFloat64Slice()))
	}
	return n
}

// recentKept remembers the last traces kept, so that a span ending after its trace's local
// roots (a task left running) is handed on too.
type recentKept struct {
	mu   sync.Mutex
	set  map[trace.TraceID]struct{}
	ring []trace.TraceID
	next int
}

const recentSize = 4096

func (r *recentKept) init(n int) {
	r.set = make(map[trace.TraceID]struct{}, n)
	r.ring = make([]trace.TraceID, 0, n)
}

func (r *recentKept) add(id trace.TraceID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[id] = struct{}{}
}

func (r *recentKept) has(id trace.TraceID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[id]
	return ok
}
