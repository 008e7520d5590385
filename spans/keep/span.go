package keep

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// held is a buffered span: the SDK's read-only snapshot, as it ended, and what the buffer
// needs to know of it.
type held struct {
	ro         sdktrace.ReadOnlySpan
	size       int64 // estimated bytes held
	root       bool
	cut        bool // attributes or events will be cut to the caps
	calleeKept bool // AttrCalleeKept is set
}

// keptSpan is a kept span as the next processors see it: sampled, as the head would have made
// it, with the attributes and events that fit.
type keptSpan struct {
	sdktrace.ReadOnlySpan
	sc, parent    trace.SpanContext
	attrs         []attribute.KeyValue
	events        []sdktrace.Event
	droppedAttrs  int
	droppedEvents int
}

func (k *keptSpan) SpanContext() trace.SpanContext   { return k.sc }
func (k *keptSpan) Parent() trace.SpanContext        { return k.parent }
func (k *keptSpan) Attributes() []attribute.KeyValue { return k.attrs }
func (k *keptSpan) Events() []sdktrace.Event         { return k.events }
func (k *keptSpan) DroppedAttributes() int           { return k.droppedAttrs }
func (k *keptSpan) DroppedEvents() int               { return k.droppedEvents }

// spanOverhead is what a buffered span costs beyond its names and attributes: the SDK's
// snapshot and the buffer's slot, rounded up.
const spanOverhead = 512

// hold sizes s for the buffer and notes whether the caps will cut it, allocating nothing: most
// buffered spans are dropped. The cut is counted when it happens, in kept.
func (p *Processor) hold(s sdktrace.ReadOnlySpan, root bool) held {
	h := held{ro: s, root: root}
	attrs, events := s.Attributes(), s.Events()
	h.cut = len(attrs) > p.cfg.maxAttrs || len(events) > p.cfg.maxEvents
	// The size is what the snapshot holds, all of it: the caps cut only what is handed on.
	size := int64(spanOverhead + len(s.Name()))
	for _, kv := range attrs {
		size += attrSize(kv)
		if kv.Key == AttrCalleeKept && kv.Value.Type() == attribute.BOOL && kv.Value.AsBool() {
			h.calleeKept = true
		}
	}
	for _, ev := range events {
		size += 64 + int64(len(ev.Name))
		for _, kv := range ev.Attributes {
			size += attrSize(kv)
		}
	}
	h.size = size + 64*int64(len(s.Links()))
	return h
}

// kept makes the form of a held span the next processors see: the sampled flag set on its span
// context (and on a local parent's, which is exported too), attributes and events cut to the
// caps.
func (p *Processor) kept(h held) *keptSpan {
	s := h.ro
	sc := s.SpanContext()
	ks := &keptSpan{ReadOnlySpan: s,
		sc:     sc.WithTraceFlags(sc.TraceFlags().WithSampled(true)),
		parent: s.Parent(),
		attrs:  s.Attributes(), events: s.Events(),
		droppedAttrs: s.DroppedAttributes(), droppedEvents: s.DroppedEvents()}
	if ps := ks.parent; ps.IsValid() && !ps.IsRemote() {
		ks.parent = ps.WithTraceFlags(ps.TraceFlags().WithSampled(true))
	}
	if n := len(ks.attrs) - p.cfg.maxAttrs; n > 0 {
		ks.attrs, ks.droppedAttrs = ks.attrs[:p.cfg.maxAttrs], ks.droppedAttrs+n
		p.st.droppedAttrs.Add(uint64(n))
	}
	if n := len(ks.events) - p.cfg.maxEvents; n > 0 {
		ks.events, ks.droppedEvents = ks.events[:p.cfg.maxEvents], ks.droppedEvents+n
		p.st.droppedEvents.Add(uint64(n))
	}
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
