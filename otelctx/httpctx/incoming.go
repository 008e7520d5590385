package httpctx

import (
	"context"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// MetadataCarrier adapts gRPC metadata (google.golang.org/grpc/metadata.MD, whose keys are
// lowercase) to propagation.TextMapCarrier, and reads the trace headers exactly as
// HeaderCarrier does: one traceparent or none, tracestate and baggage fields joined within the
// W3C limits, one x-trace-id / x-span-id / x-request-id or none. Binary ("-bin") keys are never
// read as trace headers: Get("traceparent") looks at "traceparent" only. Convert without
// copying: httpctx.MetadataCarrier(md).
//
// Set replaces the values for the lowercased key. Keys lists the keys held.
type MetadataCarrier map[string][]string

var _ propagation.TextMapCarrier = MetadataCarrier(nil)

// metadataKey lowercases key, without allocating for the names ctxtrail propagates.
func metadataKey(key string) string {
	switch key {
	case headerTraceparent, "Traceparent":
		return headerTraceparent
	case headerTracestate, "Tracestate":
		return headerTracestate
	case headerBaggage, "Baggage":
		return headerBaggage
	case HeaderTraceID, "X-Trace-Id":
		return HeaderTraceID
	case HeaderSpanID, "X-Span-Id":
		return HeaderSpanID
	case HeaderRequestID, "X-Request-Id":
		return HeaderRequestID
	}
	return strings.ToLower(key)
}

// Get returns the value for key, read as HeaderCarrier.Get reads it.
func (c MetadataCarrier) Get(key string) string {
	k := metadataKey(key)
	vs := c[k]
	switch k {
	case headerTraceparent:
		return traceparentValue(vs)
	case headerTracestate:
		return tracestateValue(vs)
	case headerBaggage:
		return baggageValue(vs)
	case HeaderTraceID, HeaderSpanID, HeaderRequestID:
		if len(vs) != 1 {
			return ""
		}
		return trimOWS(vs[0])
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Set replaces the values for key with value. On a nil MetadataCarrier it does nothing.
func (c MetadataCarrier) Set(key, value string) {
	if c == nil {
		return
	}
	c[metadataKey(key)] = []string{value}
}

// Keys lists the keys held.
func (c MetadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// ExtractIncoming does for any server what NewHandler does with an incoming request's headers
// before its span starts, so that another transport's instrumentation (the gRPC package's
// server handler) behaves the same:
//
//  1. extracts the trace context and baggage from c through prop (the global propagator when
//     nil);
//  2. counts every bad trace header through l: a repeated or invalid traceparent (the request
//     starts a fresh trace), a discarded tracestate, baggage over W3C's limits or with
//     malformed members, invalid x-trace-id or x-span-id. Only a HeaderCarrier or a
//     MetadataCarrier is checked;
//  3. puts the request ID in the context: the one prop extracted, else a safe x-request-id,
//     else a new one (counting the refused value through l).
//
// It returns the new context and the request ID. A nil l counts nothing.
func ExtractIncoming(ctx context.Context, prop propagation.TextMapPropagator, c propagation.TextMapCarrier, l *WarnLimiter) (context.Context, string) {
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	ctx = prop.Extract(ctx, c)
	switch c := c.(type) {
	case HeaderCarrier:
		checkTraceFields(l, ctx, c["Traceparent"], c["Tracestate"], c["Baggage"], c["X-Trace-Id"], c["X-Span-Id"])
	case MetadataCarrier:
		checkTraceFields(l, ctx, c[headerTraceparent], c[headerTracestate], c[headerBaggage], c[HeaderTraceID], c[HeaderSpanID])
	}
	return incomingRequestID(ctx, c, l)
}

// incomingRequestID returns ctx carrying the request ID the request runs under (see
// settleRequestID).
func incomingRequestID(ctx context.Context, c propagation.TextMapCarrier, l *WarnLimiter) (context.Context, string) {
	id := settleRequestID(ctx, c, false, l)
	if otelctx.RequestID(ctx) != id {
		ctx = otelctx.WithRequestID(ctx, id)
	}
	return ctx, id
}

// settleRequestID returns the ID an incoming request runs under: the one already extracted into
// ctx, else a safe x-request-id from c, else a new one (counting a refused value through l).
// headerFirst is for a context extracted by fusedPropagator.extractTrace, which leaves the
// x-request-id out of ctx: a safe header then wins over an ID already in ctx, as it does when
// XTrace.Extract puts it in.
func settleRequestID(ctx context.Context, c propagation.TextMapCarrier, headerFirst bool, l *WarnLimiter) string {
	if headerFirst {
		if v := c.Get(HeaderRequestID); otelctx.ValidRequestID(v) {
			return v
		}
	}
	if id := otelctx.RequestID(ctx); id != "" {
		return id
	}
	id, refused := requestIDFrom(c.Get(HeaderRequestID))
	if refused {
		l.Warn(HeaderRequestID, "unsafe value replaced")
	}
	return id
}

// checkTraceFields counts the bad trace headers of one request, given the fields of each name
// and the context extracted from them. It allocates nothing and reads only what extraction
// already read.
func checkTraceFields(warn *WarnLimiter, ctx context.Context, tp, ts, bg, xtid, xsid []string) {
	switch {
	case len(tp) > 1:
		warn.Warn(headerTraceparent, "repeated; starting a new trace")
	case len(tp) == 1:
		if !validTraceparent(traceparentValue(tp)) {
			warn.Warn(headerTraceparent, "invalid; starting a new trace")
		} else if len(ts) > 0 {
			checkTracestate(warn, ts, ctx)
		}
	}
	if len(bg) > 0 {
		checkBaggage(warn, bg)
	}
	if len(xtid) > 0 {
		var id [16]byte
		if len(xtid) > 1 || !decodeHexID(id[:], trimOWS(xtid[0])) {
			warn.Warn(HeaderTraceID, "invalid; ignored")
		}
	}
	if len(xsid) > 0 {
		var id [8]byte
		if len(xsid) > 1 || !decodeHexID(id[:], trimOWS(xsid[0])) {
			warn.Warn(HeaderSpanID, "invalid; ignored")
		}
	}
}

// requestIDFrom returns the request ID an incoming request should run under: v when it is safe,
// otherwise a new one, with whether v was present but refused.
func requestIDFrom(v string) (id string, refused bool) {
	if otelctx.ValidRequestID(v) {
		return v, false
	}
	return otelctx.NewRequestID(), v != ""
}
