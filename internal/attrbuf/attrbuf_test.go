package attrbuf

import (
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func TestWithAttributes(t *testing.T) {
	b := new(Buf)
	attrs := append(b.Attrs(), attribute.String("a", "1"), attribute.Int("b", 2))
	o := b.WithAttributes(attrs)
	if got := attrsOf(o); len(got) != 2 || got[0] != attrs[0] || got[1] != attrs[1] {
		t.Fatalf("option gives %v, want %v", got, attrs)
	}
	// The boxed option of a length is made once and reads the buffer's current contents.
	attrs = append(b.Attrs(), attribute.String("c", "3"), attribute.Int("d", 4))
	if got := attrsOf(o); got[0].Key != "c" || got[1].Key != "d" {
		t.Fatalf("reused option gives %v", got)
	}
	// A slice that outgrew the buffer is not the buffer's: it gets an option of its own.
	big := make([]attribute.KeyValue, Size+1)
	for i := range big {
		big[i] = attribute.Int("k", i)
	}
	if got := attrsOf(b.WithAttributes(big)); len(got) != Size+1 {
		t.Fatalf("outgrown slice: %d attributes", len(got))
	}
}

// TestAllocWithAttributes: the boxed option of a length is made once per buffer.
func TestAllocWithAttributes(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	b := new(Buf)
	attrs := append(b.Attrs(), attribute.String("a", "1"), attribute.Int("b", 2))
	sinkOpt = b.WithAttributes(attrs)
	if n := testing.AllocsPerRun(10, func() { sinkOpt = b.WithAttributes(attrs) }); n != 0 {
		t.Fatalf("the option of length 2 was boxed again: %v allocations", n)
	}
}

var sinkOpt trace.SpanStartEventOption // keeps the option on the heap, as a span start would

func TestRelease(t *testing.T) {
	b := Get()
	attrs := append(b.Attrs(), attribute.String("user", "secret"), attribute.String("path", "/x"))
	b.Start[0] = b.WithAttributes(attrs)
	b.Event[0] = trace.WithTimestamp(time.Time{})
	b.Release()
	if b.KV[0].Valid() || b.KV[1].Valid() || b.Start[0] != nil || b.Event[0] != nil {
		t.Fatalf("Release left %v %v %v %v", b.KV[0], b.KV[1], b.Start[0], b.Event[0])
	}
}

// Release clears every slot written, not only those before the first empty key: an attribute
// with an empty key must not leave the request data after it in the pool.
func TestReleaseClearsPastAnEmptyKey(t *testing.T) {
	b := Get()
	_ = append(b.Attrs(), attribute.String("a", "1"), attribute.String("", "x"), attribute.String("token", "secret"))
	b.Release()
	for i, kv := range b.KV {
		if kv != (attribute.KeyValue{}) {
			t.Fatalf("slot %d still holds %v after Release", i, kv)
		}
	}
}

// A buffer of its own is for a tracer that may keep what it is given: each Attrs is a new slice
// and Release touches nothing.
func TestOwnBufferIsNeverReused(t *testing.T) {
	b := ForCopies(false)
	start := append(b.Attrs(), attribute.String("url.path", "/a"))
	end := append(b.Attrs(), attribute.Int("status", 200))
	b.Release()
	if start[0].Key != "url.path" || end[0].Key != "status" {
		t.Fatalf("start %v, end %v: the second Attrs overwrote the first, or Release cleared them", start, end)
	}
}

func attrsOf(o trace.SpanStartOption) []attribute.KeyValue {
	c := trace.NewSpanStartConfig(o)
	return c.Attributes()
}
