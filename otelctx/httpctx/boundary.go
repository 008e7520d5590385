package httpctx

import (
	"context"
	"net/http"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// WithTrustedRequestID makes a handler at a trust boundary adopt a safe incoming x-request-id as
// the request ID, as an internal handler does, instead of making its own. Use it only when
// whatever sits in front of the handler (a load balancer, an API gateway) replaces the header
// on every request, so the value was not chosen by the caller.
func WithTrustedRequestID() HandlerOption {
	return handlerOption(func(c handlerConfig) handlerConfig { c.trustRequestID = true; return c })
}

// boundaryLink is the link from a server span at a trust boundary to the incoming span context:
// trace and span ID and flags only. The caller's tracestate is vendor data the caller chose, and
// a link carries it into every exported span, so it stays outside the boundary like the rest.
func boundaryLink(ctx context.Context) (trace.Link, bool) {
	in := trace.SpanContextFromContext(ctx)
	if !in.TraceID().IsValid() {
		return trace.Link{}, false
	}
	return trace.Link{
		SpanContext: in.WithTraceState(trace.TraceState{}),
		Attributes:  []attribute.KeyValue{attribute.Bool("ctxtrail.trust_boundary", true)},
	}, true
}

// boundaryRequestID replaces, at a trust boundary, a request ID the caller chose: id, the one
// incomingRequestID settled on, when it is the caller's x-request-id. The request then runs
// under a new ID (what the logs, reports and downstream calls carry, and what the response
// echoes), and the caller's ID is kept beside it as AttrCallerRequestID, on the span and in the
// request store, so it can still be searched. An ID an outer layer put in the context, or one
// made because the header was missing or unsafe, is kept.
func boundaryRequestID(ctx context.Context, id string, c propagation.TextMapCarrier, span trace.Span) (context.Context, string) {
	id, caller, replaced := boundaryID(id, c)
	if !replaced {
		return ctx, id
	}
	span.SetAttributes(caller)
	return otelctx.AddFields(otelctx.WithRequestID(ctx, id), caller), id
}

// boundaryID is boundaryRequestID's decision without the context: the ID to run under, and when
// it replaced the caller's, the AttrCallerRequestID attribute for the span and the store.
func boundaryID(id string, c propagation.TextMapCarrier) (string, attribute.KeyValue, bool) {
	if in := c.Get(HeaderRequestID); in == "" || in != id {
		return id, attribute.KeyValue{}, false
	}
	return otelctx.NewRequestID(), attribute.String(otelctx.AttrCallerRequestID, id), true
}

// isPublic reports whether r came from outside the handler's trust boundary.
func (c *handlerConfig) isPublic(r *http.Request) bool { return c.public != nil && c.public(r) }

// checkTracestate warns about the tracestate fields ts of a request whose traceparent was valid:
// a list over W3C's limits (32 members, 64 fields, 32 full members' bytes), which HeaderCarrier
// refuses whole, or a list the propagator could not parse. Blank fields say nothing and are not
// warned about.
func checkTracestate(warn *WarnLimiter, ts []string, ctx context.Context) {
	if tracestateValue(ts) == "" {
		for _, v := range ts {
			if !blankList(v) {
				warn.Warn(headerTracestate, "over W3C limits (32 members, 64 fields, 16 KiB); discarded")
				return
			}
		}
		return
	}
	if !hasTracestate(ctx) {
		warn.Warn(headerTracestate, "invalid; discarded")
	}
}

// blankList reports whether the list v has no member but spaces, tabs and commas.
func blankList(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != ',' && !isOWS(c) {
			return false
		}
	}
	return true
}
