package spanids

import (
	"context"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func spans(t *testing.T) (root, child trace.Span) {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, child = tp.Tracer("t").Start(ctx, "child")
	return root, child
}

func TestSlotFirstSpanClaims(t *testing.T) {
	root, child := spans(t)
	var s Slot
	rc, cc := root.SpanContext(), child.SpanContext()
	got := s.IDs(child, cc.TraceID(), cc.SpanID())
	if got == nil || got.Trace != cc.TraceID().String() || got.Span != cc.SpanID().String() || got.Parent != rc.SpanID().String() {
		t.Fatalf("first fill: %+v", got)
	}
	if again := s.IDs(child, cc.TraceID(), cc.SpanID()); again != got {
		t.Fatal("the same span's IDs were not the slot's")
	}
	if other := s.IDs(root, rc.TraceID(), rc.SpanID()); other != nil {
		t.Fatalf("a second span got the slot: %+v", other)
	}
	if e := Encode(root, rc.TraceID(), rc.SpanID(), true); e.Parent != "" || e.Span != rc.SpanID().String() {
		t.Fatalf("Encode of a root span: %+v", e)
	}
}

// Lines of one span logged from many goroutines at once: each gets the slot's IDs or nil (and
// then encodes its own), never a half-written entry.
func TestSlotConcurrent(t *testing.T) {
	_, child := spans(t)
	cc := child.SpanContext()
	var s Slot
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if e := s.IDs(child, cc.TraceID(), cc.SpanID()); e != nil && (e.Span != cc.SpanID().String() || e.Trace != cc.TraceID().String()) {
					t.Errorf("torn entry %+v", e)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.IDs(child, cc.TraceID(), cc.SpanID()) == nil {
		t.Fatal("the slot was never filled")
	}
}

func TestSlotNoAllocation(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	_, child := spans(t)
	cc := child.SpanContext()
	s := new(Slot)
	n := testing.AllocsPerRun(100, func() {
		s.state.Store(slotEmpty) // a new node's slot
		_ = s.IDs(child, cc.TraceID(), cc.SpanID())
	})
	if n != 0 {
		t.Fatalf("filling a slot allocates %v times", n)
	}
}
