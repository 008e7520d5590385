package slogbridge

import (
	"context"
	"encoding/binary"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TestIDCacheSameSpanIDAlternating: two traces share a span ID and their lines alternate, so each
// line after the first finds the other trace in the ID cache's slot. Every line must carry its own
// trace ID; a cache that matched on the span ID alone would stamp the other request's.
func TestIDCacheSameSpanIDAlternating(t *testing.T) {
	l, sink := jsonLogger()
	var sid trace.SpanID
	binary.LittleEndian.PutUint64(sid[:], 42)
	traces := []trace.TraceID{{15: 1}, {15: 2}}
	for i := range 10 {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traces[i%2], SpanID: sid})
		l.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "line")
	}
	for i, m := range sink.parse(t) {
		if want := traces[i%2].String(); m["trace_id"] != want {
			t.Fatalf("line %d stamped trace %v, want %s", i, m["trace_id"], want)
		}
	}
}
