package zapbridge

import (
	"context"
	"encoding/binary"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func spanContext(tid byte, sid uint64) trace.SpanContext {
	var s trace.SpanID
	binary.LittleEndian.PutUint64(s[:], sid)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{15: tid}, SpanID: s})
}

func TestIDCache(t *testing.T) {
	var c idCache
	a := spanContext(1, 7)
	span := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), a))

	first := c.lookup(span, a.TraceID(), a.SpanID())
	if first.trace != a.TraceID().String() || first.span != a.SpanID().String() || first.parent != "" {
		t.Fatalf("encoded %+v, want %s %s", first, a.TraceID(), a.SpanID())
	}
	if again := c.lookup(span, a.TraceID(), a.SpanID()); again != first {
		t.Fatal("second lookup of the same span encoded again")
	}

	// Same slot (span IDs equal modulo the table size), different span: replaced, not confused.
	b := spanContext(1, 7+idCacheSlots)
	got := c.lookup(span, b.TraceID(), b.SpanID())
	if got.span != b.SpanID().String() {
		t.Fatalf("colliding span got %s, want %s", got.span, b.SpanID())
	}
	// Same span ID in another trace: a different span.
	other := spanContext(2, 7)
	if got := c.lookup(span, other.TraceID(), other.SpanID()); got.trace != other.TraceID().String() {
		t.Fatalf("other trace got %s, want %s", got.trace, other.TraceID())
	}
}

func TestIDCacheParent(t *testing.T) {
	tr, _ := tracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()
	_, child := tr.Start(ctx, "child")
	defer child.End()

	c := idCache{withParent: true}
	if got := c.lookup(child, child.SpanContext().TraceID(), child.SpanContext().SpanID()).parent; got != root.SpanContext().SpanID().String() {
		t.Fatalf("parent %q, want %s", got, root.SpanContext().SpanID())
	}
	if got := c.lookup(root, root.SpanContext().TraceID(), root.SpanContext().SpanID()).parent; got != "" {
		t.Fatalf("root has parent %q", got)
	}
}

// BenchmarkSpanIDs compares the cache with encoding the IDs on every line.
func BenchmarkSpanIDs(b *testing.B) {
	sc := spanContext(9, 0x1234)
	span := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), sc))
	b.Run("cached", func(b *testing.B) {
		var c idCache
		b.ReportAllocs()
		for b.Loop() {
			sc := span.SpanContext()
			_ = c.lookup(span, sc.TraceID(), sc.SpanID())
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeIDs(span, sc.TraceID(), sc.SpanID(), false)
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
