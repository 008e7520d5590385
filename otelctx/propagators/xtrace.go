package propagators

import (
	"context"
	"unsafe"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Header names of the x-headers, lowercase as they are sent. Receivers match them in any case.
const (
	HeaderTraceID   = "x-trace-id"   // 32 lowercase hex digits, the W3C trace-id
	HeaderSpanID    = "x-span-id"    // 16 lowercase hex digits, the caller's span
	HeaderRequestID = "x-request-id" // see otelctx.ValidRequestID
)

// XTrace is a propagation.TextMapPropagator for the x-headers: x-trace-id, x-span-id and
// x-request-id. It runs beside the W3C propagators (New, Install's default, is tracecontext,
// baggage and xtrace; OTEL_PROPAGATORS calls it "xtrace").
//
// Inject writes the current span's trace and span IDs and the context's request ID (when
// otelctx.ValidRequestID accepts it). When the carrier already holds a traceparent for the same span,
// the IDs are sliced out of it instead of being encoded again.
//
// Extract reads the x-headers only when the carrier has no valid traceparent, so a caller that
// knows only x-trace-id joins the same trace while a valid traceparent always wins. Invalid
// values (not lowercase hex, wrong length, all zeros, repeated headers) are ignored. A valid
// x-trace-id with no valid x-span-id makes the next span a root span inside that trace. The
// x-headers carry no flags: a trace continued from them counts as sampled, because a caller
// that sends its trace ID wants the spans recorded. The request ID is extracted into the context
// (otelctx.RequestID) when it is safe.
//
// The zero value is ready to use.
type XTrace struct{}

var _ propagation.TextMapPropagator = XTrace{}

// Inject sets the x-headers from ctx into carrier.
func (XTrace) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	id := otelctx.RequestID(ctx)
	hasIDs, hasReq := sc.IsValid(), otelctx.ValidRequestID(id)
	if !hasIDs && !hasReq {
		return
	}
	if h, ok := carrier.(HeaderCarrier); ok && h != nil {
		// The common case, an outgoing http.Header: one allocation for every value slice.
		var tp string
		if vs := h["Traceparent"]; len(vs) == 1 {
			tp = vs[0]
		}
		vals := make([]string, 3)
		if hasIDs {
			vals[0], vals[1] = xIDs(sc, tp)
			h["X-Trace-Id"], h["X-Span-Id"] = vals[0:1:1], vals[1:2:2]
		}
		if hasReq {
			vals[2] = id
			h["X-Request-Id"] = vals[2:3:3]
		}
		return
	}
	if hasIDs {
		tid, sid := xIDs(sc, carrier.Get(wire.Traceparent))
		carrier.Set(HeaderTraceID, tid)
		carrier.Set(HeaderSpanID, sid)
	}
	if hasReq {
		carrier.Set(HeaderRequestID, id)
	}
}

// Extract reads the x-headers from carrier into a copy of ctx. With nothing to extract it
// returns ctx itself and allocates nothing.
func (XTrace) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if tid := carrier.Get(HeaderTraceID); tid != "" && !wire.ValidTraceparent(carrier.Get(wire.Traceparent)) {
		if sc, ok := wire.XSpanContext(tid, carrier.Get(HeaderSpanID)); ok {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	if id := carrier.Get(HeaderRequestID); id != "" && otelctx.ValidRequestID(id) {
		ctx = otelctx.WithRequestID(ctx, id)
	}
	return ctx
}

// Fields returns the header names Inject sets.
func (XTrace) Fields() []string {
	return []string{HeaderTraceID, HeaderSpanID, HeaderRequestID}
}

// xIDs returns sc's trace and span IDs in hex. When tp is a traceparent for sc, as
// TraceContext.Inject has just written it, the IDs are substrings of it and cost nothing;
// otherwise both share one allocation.
func xIDs(sc trace.SpanContext, tp string) (tid, sid string) {
	var buf [48]byte
	tID, sID := sc.TraceID(), sc.SpanID()
	wire.EncodeHex(buf[:32], tID[:])
	wire.EncodeHex(buf[32:], sID[:])
	if len(tp) >= 52 && tp[2] == '-' && tp[35] == '-' &&
		tp[3:35] == string(buf[:32]) && tp[36:52] == string(buf[32:]) {
		return tp[3:35], tp[36:52]
	}
	s := string(buf[:])
	return s[:32], s[32:]
}

// New returns ctxtrail's propagator, the one Install sets by default: the same as
// propagation.NewCompositeTextMapPropagator(TraceContext{}, propagation.Baggage{}, XTrace{})
// (TraceContext passes on a Level 2 tracestate the SDK's parser refuses), with Inject fused into
// one pass when the carrier is a HeaderCarrier: the span context and request ID are read once,
// traceparent is encoded once with x-trace-id and x-span-id sliced out of it, and every header
// value shares one allocation. Other carriers go through the composite unchanged, and so does
// Extract, which the HTTP and gRPC server handlers do in one pass of their own with the same
// result.
func New() propagation.TextMapPropagator {
	return fusedPropagator{composite: propagation.NewCompositeTextMapPropagator(
		TraceContext{}, propagation.Baggage{}, XTrace{})}
}

type fusedPropagator struct {
	wire.Fused // httpctx and grpcctx extract it in one pass (wire.Server.Extract)
	composite  propagation.TextMapPropagator
}

// Inject writes traceparent, tracestate, baggage and the x-headers.
func (p fusedPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	h, ok := carrier.(HeaderCarrier)
	if !ok || h == nil {
		p.composite.Inject(ctx, carrier)
		return
	}
	sc := trace.SpanContextFromContext(ctx)
	id := otelctx.RequestID(ctx)
	bag := baggage.FromContext(ctx)
	hasSC, hasReq, hasBag := sc.IsValid(), otelctx.ValidRequestID(id), bag.Len() > 0
	n := 0
	var ts string
	if hasSC {
		n += 3
		if ts = wire.LevelTwoTracestate(ctx, sc); ts == "" && sc.TraceState().Len() > 0 {
			ts = sc.TraceState().String()
		}
		if ts != "" {
			n++
		}
	}
	if hasReq {
		n++
	}
	if hasBag {
		n++
	}
	if n == 0 {
		return
	}
	// One allocation holds every value slice, each header getting a one-element window of it,
	// and the traceparent's bytes, which x-trace-id and x-span-id are cut from.
	buf := new(injectBuf)
	vals := buf.vals[:n]
	i := 0
	if hasSC {
		tp := buf.traceparent(sc)
		vals[0], vals[1], vals[2] = tp, tp[3:35], tp[36:52]
		h["Traceparent"], h["X-Trace-Id"], h["X-Span-Id"] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
		i = 3
		if ts != "" {
			vals[i] = ts
			h["Tracestate"] = vals[i : i+1 : i+1]
			i++
		}
	}
	if hasBag {
		vals[i] = bag.String()
		h["Baggage"] = vals[i : i+1 : i+1]
		i++
	}
	if hasReq {
		vals[i] = id
		h["X-Request-Id"] = vals[i : i+1 : i+1]
	}
}

// Extract reads every header the composite knows.
func (p fusedPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return p.composite.Extract(ctx, carrier)
}

// Fields returns the header names Inject sets.
func (p fusedPropagator) Fields() []string { return p.composite.Fields() }

// injectBuf backs the header values of one fused Inject.
type injectBuf struct {
	vals [6]string // traceparent, x-trace-id, x-span-id, tracestate, baggage, x-request-id
	tp   [55]byte
}

// traceparent encodes sc into the buffer and returns it as a string that shares the buffer,
// which is never written again.
func (b *injectBuf) traceparent(sc trace.SpanContext) string {
	wire.PutTraceparent(&b.tp, sc)
	return unsafe.String(&b.tp[0], len(b.tp))
}
