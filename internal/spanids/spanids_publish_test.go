package spanids

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// parentHookSpan is an SDK span whose Parent runs hook first. fill asks the span for its parent
// after it has written the binary IDs and before it sets the strings, so the hook runs at a fixed
// point in the middle of filling a slot.
type parentHookSpan struct {
	sdktrace.ReadWriteSpan
	hook func()
}

func (s parentHookSpan) Parent() trace.SpanContext {
	if h := s.hook; h != nil {
		h()
	}
	return s.ReadWriteSpan.Parent()
}

// TestSlotPublishedOnlyOnceFilled: a line logged on another goroutine while the slot is being
// filled finds it not ready and gets nil (its bridge then encodes its own IDs), never the
// half-written entry. The other goroutine looks at a fixed point inside fill, so a slot marked
// ready before it is filled fails here on every run, with or without -race.
func TestSlotPublishedOnlyOnceFilled(t *testing.T) {
	root, child := spans(t)
	rc, cc := root.SpanContext(), child.SpanContext()
	var s Slot
	var (
		calls     int
		stateSeen uint32
		idsSeen   *IDs // a copy, as the other goroutine found it
	)
	span := parentHookSpan{ReadWriteSpan: child.(sdktrace.ReadWriteSpan)}
	span.hook = func() {
		if calls++; calls > 1 {
			return
		}
		done := make(chan struct{})
		go func() { // another line of the same span, logged just now
			defer close(done)
			stateSeen = s.state.Load()
			if e := s.IDs(child, cc.TraceID(), cc.SpanID()); e != nil {
				c := *e
				idsSeen = &c
			}
		}()
		<-done
	}
	got := s.IDs(span, cc.TraceID(), cc.SpanID())
	if calls == 0 {
		t.Fatal("fill never asked the span for its parent: the hook did not run")
	}
	if stateSeen != slotFilling {
		t.Errorf("while the slot was being filled another goroutine saw state %d, want %d (filling)", stateSeen, slotFilling)
	}
	if idsSeen != nil {
		t.Errorf("another goroutine got the slot's IDs before they were filled: trace %q span %q parent %q",
			idsSeen.Trace, idsSeen.Span, idsSeen.Parent)
	}
	if got == nil || got.Trace != cc.TraceID().String() || got.Span != cc.SpanID().String() || got.Parent != rc.SpanID().String() {
		t.Fatalf("the filler got %+v", got)
	}
	if s.state.Load() != slotReady {
		t.Fatalf("after the fill the slot's state is %d, want %d (ready)", s.state.Load(), slotReady)
	}
	if again := s.IDs(child, cc.TraceID(), cc.SpanID()); again != got {
		t.Fatal("once filled, the slot did not answer the same span with its IDs")
	}
}
