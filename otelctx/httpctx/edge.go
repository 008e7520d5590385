package httpctx

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TrustBoundaryLink returns the link a server span at a trust boundary carries to the incoming
// span context in ctx (trace and span ID and flags, no tracestate), or false when none came in.
// With ExtractIncoming and TrustBoundaryRequestID it lets another transport's server (the gRPC
// package's) hold the boundary exactly as WithTrustBoundary does for HTTP.
func TrustBoundaryLink(ctx context.Context) (trace.Link, bool) { return boundaryLink(ctx) }

// TrustBoundaryRequestID is WithTrustBoundary's rule for the request ID, for other transports:
// when id (as ExtractIncoming returned it) is the caller's own x-request-id from c, the request
// runs under a new ID instead, and the caller's is kept as AttrCallerRequestID on span and in the
// request store. It returns the context and the ID the request runs under.
func TrustBoundaryRequestID(ctx context.Context, id string, c propagation.TextMapCarrier, span trace.Span) (context.Context, string) {
	return boundaryRequestID(ctx, id, c, span)
}
