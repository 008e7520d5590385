package wire

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Server is how one server (an HTTP handler, a gRPC server handler) treats incoming requests.
// It is set up once, when the handler is made.
type Server struct {
	Prop           propagation.TextMapPropagator // nil: the global one, read on every request
	Warn           Warner                        // counts bad headers; never nil
	Allow          []string                      // baggage members kept at a trust boundary (AllowList)
	TrustRequestID bool                          // adopt a safe x-request-id even at a trust boundary
}

// Incoming is what Server.Extract made of one request's headers.
type Incoming struct {
	// Context carries the baggage (cut to the allowlist at a trust boundary), the Level 2
	// tracestate, the remote parent unless Parent holds it, and no request ID of Extract's own.
	Context context.Context
	// Parent is the remote parent when Extract was asked to hold it (and the propagator is
	// propagators.New's); otherwise it is in Context, or there is none.
	Parent trace.SpanContext
	// RequestID is the ID the request runs under, never empty (see IncomingRequestID).
	RequestID string
	// Caller is otelctx.AttrCallerRequestID with the caller's request ID when a trust boundary
	// replaced it; the zero KeyValue otherwise.
	Caller attribute.KeyValue
	// Link, when Linked, is what the server span at a trust boundary links to: the incoming
	// span context without its tracestate.
	Link   trace.Link
	Linked bool
}

// Extract is the incoming step HTTP and gRPC share, before the server span starts:
//
//  1. extracts the trace context and baggage from c through the propagator: with
//     propagators.New's, the remote parent is decoded once and, with holdParent, returned in
//     Parent instead of being put in the context (the HTTP request node answers for it);
//  2. counts every bad trace header of f through s.Warn: a repeated or invalid traceparent (the
//     request starts a fresh trace), a discarded tracestate, baggage over W3C's limits or with
//     malformed members, invalid x-trace-id or x-span-id;
//  3. at a trust boundary (public), links to the incoming span context instead of adopting it
//     (the caller starts the span as a new root) and keeps only the allowed baggage;
//  4. settles the request ID (IncomingRequestID).
//
// c is the carrier the propagator reads (propagators.HeaderCarrier or Metadata) and f the same
// request's raw fields.
func (s *Server) Extract(ctx context.Context, c propagation.TextMapCarrier, f Fields, public, holdParent bool) Incoming {
	prop := s.Prop
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	var in Incoming
	fused := IsFused(prop)
	if fused {
		in.Context, in.Parent = extractTrace(ctx, c)
		if !holdParent || !in.Parent.TraceID().IsValid() {
			if in.Parent.TraceID().IsValid() {
				in.Context = trace.ContextWithRemoteSpanContext(in.Context, in.Parent)
			}
			in.Parent = trace.SpanContext{}
		}
	} else {
		in.Context = prop.Extract(ctx, c)
	}
	parent := in.Parent
	if !parent.TraceID().IsValid() {
		parent = trace.SpanContextFromContext(in.Context)
	}
	checkTraceFields(s.Warn, in.Context, parent, f)
	if public {
		in.Link, in.Linked = boundaryLink(parent)
		in.Context = w3cbaggage.Restrict(in.Context, s.Allow, nil)
	}
	in.RequestID, in.Caller = IncomingRequestID(in.Context, c, fused, public && !s.TrustRequestID, s.Warn)
	return in
}

// extractTrace is what propagators.New's Extract does, but for the request ID, which
// Server.Extract settles itself, and the remote parent, which it returns instead of putting it in
// the context. The baggage, the Level 2 tracestate and the parent come out exactly as Extract's:
// parent is the traceparent's span context, else the x-headers', else the zero SpanContext.
func extractTrace(ctx context.Context, c propagation.TextMapCarrier) (_ context.Context, parent trace.SpanContext) {
	parent = ParseTraceparent(c.Get(Traceparent), c.Get(Tracestate))
	ctx = WithLevelTwo(ctx, parent, c)
	ctx = propagation.Baggage{}.Extract(ctx, c)
	if !parent.IsValid() {
		if tid := c.Get(TraceID); tid != "" {
			parent, _ = XSpanContext(tid, c.Get(SpanID))
		}
	}
	return ctx, parent
}

// IncomingRequestID is the one rule that picks the ID an incoming request runs under, given the context
// extraction made and the carrier: a safe x-request-id, or the ID already in ctx (an outer
// layer's, or the one the propagator extracted), or a new one, counting a refused header value
// through warn. headerFirst is for a context extracted without the request ID (extractTrace): a
// safe header then wins over an ID an outer layer put in ctx, as it does when
// propagators.XTrace.Extract puts it in.
//
// replaceCaller is a trust boundary's rule: when the ID would be the caller's own x-request-id,
// the request runs under a new ID instead, and caller is otelctx.AttrCallerRequestID with the
// caller's, to keep on the span and in the request store. An ID an outer layer put in the
// context, or one made because the header was missing or unsafe, is kept.
func IncomingRequestID(ctx context.Context, c propagation.TextMapCarrier, headerFirst, replaceCaller bool, warn Warner) (id string, caller attribute.KeyValue) {
	header := c.Get(RequestID)
	if headerFirst && otelctx.ValidRequestID(header) {
		id = header
	} else if id = otelctx.RequestID(ctx); id == "" { // looked up once: it walks the context
		if !otelctx.ValidRequestID(header) {
			if header != "" {
				warn.Warn(RequestID, "unsafe value replaced")
			}
			return otelctx.NewRequestID(), attribute.KeyValue{}
		}
		id = header
	}
	if replaceCaller && id == header {
		return otelctx.NewRequestID(), attribute.String(otelctx.AttrCallerRequestID, id)
	}
	return id, attribute.KeyValue{}
}

// boundaryLink is the link from a server span at a trust boundary to the incoming span context:
// trace and span ID and flags only. The caller's tracestate is vendor data the caller chose, and
// a link carries it into every exported span, so it stays outside the boundary like the rest.
func boundaryLink(in trace.SpanContext) (trace.Link, bool) {
	if !in.TraceID().IsValid() {
		return trace.Link{}, false
	}
	return trace.Link{
		SpanContext: in.WithTraceState(trace.TraceState{}),
		Attributes:  []attribute.KeyValue{attribute.Bool("ctxtrail.trust_boundary", true)},
	}, true
}

// AllowList returns the baggage members a trust boundary keeps, as Server.Allow wants them:
// names in the order given, without empty names and duplicates.
func AllowList(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// checkTraceFields counts the bad trace headers of one request, given their fields, the context
// extracted from them and the remote parent extracted (in ctx or held apart). It allocates
// nothing and reads only what extraction already read.
func checkTraceFields(warn Warner, ctx context.Context, parent trace.SpanContext, f Fields) {
	switch tp := f.Traceparent; {
	case len(tp) > 1:
		warn.Warn(Traceparent, "repeated; starting a new trace")
	case len(tp) == 1:
		if !ValidTraceparent(TraceparentValue(tp)) {
			warn.Warn(Traceparent, "invalid; starting a new trace")
		} else if len(f.Tracestate) > 0 {
			checkTracestate(warn, f.Tracestate, ctx, parent)
		}
	}
	if len(f.Baggage) > 0 {
		checkBaggage(warn, f.Baggage)
	}
	if xtid := f.TraceID; len(xtid) > 0 {
		var id [16]byte
		if len(xtid) > 1 || !DecodeHexID(id[:], TrimOWS(xtid[0])) {
			warn.Warn(TraceID, "invalid; ignored")
		}
	}
	if xsid := f.SpanID; len(xsid) > 0 {
		var id [8]byte
		if len(xsid) > 1 || !DecodeHexID(id[:], TrimOWS(xsid[0])) {
			warn.Warn(SpanID, "invalid; ignored")
		}
	}
}

// checkTracestate warns about the tracestate fields ts of a request whose traceparent was valid:
// a list over W3C's limits (32 members, 64 fields, 32 full members' bytes), which the carriers
// refuse whole, or a list the propagator could not parse. Blank fields say nothing and are not
// warned about.
func checkTracestate(warn Warner, ts []string, ctx context.Context, parent trace.SpanContext) {
	if TracestateValue(ts) == "" {
		for _, v := range ts {
			if !blankList(v) {
				warn.Warn(Tracestate, "over W3C limits (32 members, 64 fields, 16 KiB); discarded")
				return
			}
		}
		return
	}
	if !hasTracestate(ctx, parent) {
		warn.Warn(Tracestate, "invalid; discarded")
	}
}
