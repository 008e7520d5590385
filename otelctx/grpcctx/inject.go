package grpcctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// maxFusedPairs is how many metadata pairs fusedPairs writes at most: traceparent, tracestate,
// baggage, x-trace-id, x-span-id, x-request-id.
const maxFusedPairs = 6

// fusedPairs writes into kv, as key/value pairs, exactly what propagators.New's composite
// injects into the client handler's pairs (same keys, values and order; TestFusedPairs holds
// the two together), in one pass: the span context and the request ID are read once, the
// traceparent is encoded once, with x-trace-id and x-span-id cut from it. id is the context's
// request ID and validID whether otelctx.ValidRequestID accepts it. It returns the number of
// strings written.
func fusedPairs(kv *[2 * maxFusedPairs]string, ctx context.Context, id string, validID, xTrace bool) int {
	n := 0
	put := func(k, v string) {
		kv[n], kv[n+1] = k, v
		n += 2
	}
	sc := trace.SpanContextFromContext(ctx)
	var tp string
	if sc.IsValid() {
		// propagation.TraceContext sets the span context's tracestate before the traceparent;
		// propagators.TraceContext then replaces it with the Level 2 list, or adds that after.
		own := sc.TraceState().String()
		ts := wire.LevelTwoTracestate(ctx, sc)
		if ts == "" {
			ts = own
		}
		if own != "" {
			put(wire.Tracestate, ts)
		}
		var b [55]byte
		wire.PutTraceparent(&b, sc)
		tp = string(b[:])
		put(wire.Traceparent, tp)
		if own == "" && ts != "" {
			put(wire.Tracestate, ts)
		}
	}
	if bag := baggage.FromContext(ctx); bag.Len() > 0 {
		if s := bag.String(); s != "" {
			put(wire.Baggage, s)
		}
	}
	if xTrace && tp != "" {
		put(propagators.HeaderTraceID, tp[3:35])
		put(propagators.HeaderSpanID, tp[36:52])
	}
	if validID {
		put(propagators.HeaderRequestID, id)
	}
	return n
}
