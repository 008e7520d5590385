package spans

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// IDs are the identifiers of the span a context carries: Node's executionAsyncId (SpanID) and
// triggerAsyncId (ParentSpanID), plus the trace they belong to.
type IDs struct {
	TraceID      trace.TraceID
	SpanID       trace.SpanID
	ParentSpanID trace.SpanID // zero for a root span, a remote span, or when unknown
	Sampled      bool
	Remote       bool // the span context came from another process (extracted headers)
}

// parented is what the SDK's recording spans (sdktrace.ReadOnlySpan) offer.
type parented interface{ Parent() trace.SpanContext }

// IDsFrom returns the IDs of the span in ctx. A context without a valid span, or a nil one,
// gives zero IDs. The parent is known for spans recorded by the OpenTelemetry SDK; for a
// sampled-out span it is zero.
func IDsFrom(ctx context.Context) IDs {
	if ctx == nil {
		return IDs{}
	}
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if !sc.IsValid() {
		return IDs{}
	}
	ids := IDs{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Sampled: sc.IsSampled(), Remote: sc.IsRemote()}
	if p, ok := span.(parented); ok {
		if psc := p.Parent(); psc.IsValid() && psc.TraceID() == sc.TraceID() {
			ids.ParentSpanID = psc.SpanID()
		}
	}
	return ids
}

// TraceID returns the hex trace ID of the span in ctx, or "" when there is none.
func TraceID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// SpanID returns the hex span ID of the span in ctx, or "" when there is none.
func SpanID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.SpanID().String()
	}
	return ""
}

// ParentSpanID returns the hex span ID of the parent of the span in ctx, or "" when it has
// none or it is unknown (see IDsFrom).
func ParentSpanID(ctx context.Context) string {
	if id := IDsFrom(ctx).ParentSpanID; id.IsValid() {
		return id.String()
	}
	return ""
}
