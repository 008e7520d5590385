package zapbridge

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// spanContext is a remote span context with trace ID {15: tid} and span ID sid.
func spanContext(tid byte, sid uint64) trace.SpanContext {
	var s trace.SpanID
	binary.LittleEndian.PutUint64(s[:], sid)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{15: tid}, SpanID: s})
}

// TestIDCacheSameSpanIDManyTraces logs through one Logger from many goroutines, each pair of
// traces sharing every span ID and the lines of the two alternating, so the cache slot of a span
// ID mostly holds the other trace's entry when a line looks it up. Every line must carry its own
// request's trace ID: a cache that matched on the span ID alone would stamp another request's.
func TestIDCacheSameSpanIDManyTraces(t *testing.T) {
	core, sink := jsonCore(zapcore.InfoLevel)
	l := New(zap.New(core))
	const traces, spanIDs, rounds = 16, 8, 50
	var wg sync.WaitGroup
	for tr := range traces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for s := range spanIDs {
					// Traces 1..16 all use span IDs 1..8: each slot is shared by 16 traces.
					sc := spanContext(byte(tr+1), uint64(s+1))
					ctx := trace.ContextWithSpanContext(context.Background(), sc)
					l.InfoContext(ctx, "line", zap.String("want_trace", sc.TraceID().String()),
						zap.String("want_span", sc.SpanID().String()), zap.Int("round", r))
				}
			}
		}()
	}
	wg.Wait()
	got := sink.parse(t)
	if len(got) != traces*spanIDs*rounds {
		t.Fatalf("%d lines, want %d", len(got), traces*spanIDs*rounds)
	}
	bled := 0
	for _, m := range got {
		if m["trace_id"] != m["want_trace"] || m["span_id"] != m["want_span"] {
			if bled++; bled <= 3 {
				t.Errorf("line stamped trace %v span %v, want %v %v", m["trace_id"], m["span_id"], m["want_trace"], m["want_span"])
			}
		}
	}
	if bled > 0 {
		t.Fatalf("%d of %d lines carry another trace's IDs", bled, len(got))
	}
}

// TestIDCacheSameSpanIDAlternating is the deterministic form: two traces with the same span ID,
// lines alternating, on one goroutine. Each line after the first finds the other trace in the slot.
func TestIDCacheSameSpanIDAlternating(t *testing.T) {
	core, sink := jsonCore(zapcore.InfoLevel)
	l := New(zap.New(core))
	a, b := spanContext(1, 42), spanContext(2, 42)
	for i := range 10 {
		sc := a
		if i%2 == 1 {
			sc = b
		}
		l.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "line")
	}
	for i, m := range sink.parse(t) {
		want := a.TraceID().String()
		if i%2 == 1 {
			want = b.TraceID().String()
		}
		if m["trace_id"] != want {
			t.Fatalf("line %d stamped trace %v, want %s", i, m["trace_id"], want)
		}
	}
}
