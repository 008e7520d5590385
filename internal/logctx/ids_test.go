package logctx

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func spanContext(tid byte, sid uint64) trace.SpanContext {
	var s trace.SpanID
	binary.LittleEndian.PutUint64(s[:], sid)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{15: tid}, SpanID: s})
}

func TestIDCache(t *testing.T) {
	var c IDCache
	a := spanContext(1, 7)
	span := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), a))

	first := c.Lookup(context.Background(), span, a.TraceID(), a.SpanID())
	if first.Trace != a.TraceID().String() || first.Span != a.SpanID().String() || first.Parent != "" {
		t.Fatalf("encoded %+v, want %s %s", first, a.TraceID(), a.SpanID())
	}
	if again := c.Lookup(context.Background(), span, a.TraceID(), a.SpanID()); again != first {
		t.Fatal("second lookup of the same span encoded again")
	}

	// Same slot (span IDs equal modulo the table size), different span: replaced, not confused.
	b := spanContext(1, 7+CacheSlots)
	got := c.Lookup(context.Background(), span, b.TraceID(), b.SpanID())
	if got.Span != b.SpanID().String() {
		t.Fatalf("colliding span got %s, want %s", got.Span, b.SpanID())
	}
	// Same span ID in another trace: a different span. The slot must hold a's entry when the other
	// trace looks it up, or a cache that ignores the trace ID would pass.
	if got := c.Lookup(context.Background(), span, a.TraceID(), a.SpanID()); got.Trace != a.TraceID().String() {
		t.Fatalf("a again got %s, want %s", got.Trace, a.TraceID())
	}
	if e := c.slots[7].Load(); e == nil || e.TraceID != a.TraceID() {
		t.Fatalf("slot 7 holds %+v, want a's entry", e)
	}
	other := spanContext(2, 7)
	if got := c.Lookup(context.Background(), span, other.TraceID(), other.SpanID()); got.Trace != other.TraceID().String() {
		t.Fatalf("other trace got %s, want %s", got.Trace, other.TraceID())
	}
}

func TestIDCacheParent(t *testing.T) {
	tr, _ := tracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()
	_, child := tr.Start(ctx, "child")
	defer child.End()

	c := IDCache{WithParent: true}
	if got := c.Lookup(context.Background(), child, child.SpanContext().TraceID(), child.SpanContext().SpanID()).Parent; got != root.SpanContext().SpanID().String() {
		t.Fatalf("parent %q, want %s", got, root.SpanContext().SpanID())
	}
	if got := c.Lookup(context.Background(), root, root.SpanContext().TraceID(), root.SpanContext().SpanID()).Parent; got != "" {
		t.Fatalf("root has parent %q", got)
	}
}

// BenchmarkSpanIDs compares the cache with encoding the IDs on every line.
func BenchmarkSpanIDs(b *testing.B) {
	sc := spanContext(9, 0x1234)
	span := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), sc))
	b.Run("cached", func(b *testing.B) {
		var c IDCache
		b.ReportAllocs()
		for b.Loop() {
			sc := span.SpanContext()
			_ = c.Lookup(context.Background(), span, sc.TraceID(), sc.SpanID())
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Encode(span, sc.TraceID(), sc.SpanID(), false)
		}
	})
	b.Run("String", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sc := span.SpanContext()
			_, _ = sc.TraceID().String(), sc.SpanID().String()
		}
	})
}

// TestAllocEncode: a span's three encoded IDs cost one allocation.
func TestAllocEncode(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	sc := spanContext(9, 0x1234)
	span := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), sc))
	if n := testing.AllocsPerRun(200, func() { _ = Encode(span, sc.TraceID(), sc.SpanID(), true) }); n != 1 {
		t.Errorf("Encode: %v allocations, want 1", n)
	}
}

func TestUniqueKeys(t *testing.T) {
	many := make([]attribute.KeyValue, MaxUniqueCheck+1)
	for i := range many {
		many[i] = attribute.Int(fmt.Sprintf("k%d", i), i)
	}
	for _, tc := range []struct {
		name string
		kvs  []attribute.KeyValue
		want bool
	}{
		{"none", nil, true},
		{"unique", []attribute.KeyValue{attribute.String("a", "1"), attribute.Int("b", 2), attribute.Bool("ab", true)}, true},
		{"duplicate", []attribute.KeyValue{attribute.String("a", "1"), attribute.Int("b", 2), attribute.Bool("a", true)}, false},
		{"slice value", []attribute.KeyValue{attribute.Slice("s", attribute.StringValue("x"))}, false},
		{"map value", []attribute.KeyValue{attribute.Map("m", attribute.String("x", "y"))}, false},
		{"typed slice is a scalar to the SDK", []attribute.KeyValue{attribute.StringSlice("s", []string{"x", "x"})}, true},
		{"at the limit", many[:MaxUniqueCheck], true},
		{"past the limit", many, false},
	} {
		if got := UniqueKeys(tc.kvs); got != tc.want {
			t.Errorf("%s: UniqueKeys = %v, want %v", tc.name, got, tc.want)
		}
	}
}
