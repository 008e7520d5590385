// Package propagators holds what a service configures to carry ctxtrail's trace context across
// the wire: the propagators, the carrier that reads HTTP headers the way the W3C specifications
// ask, and the limiter that reports bad incoming headers.
//
// # Propagators
//
// New returns ctxtrail's default, the one ctxtrail.Install sets unless WithPropagation or
// OTEL_PROPAGATORS say otherwise: W3C traceparent and tracestate (TraceContext), W3C baggage,
// and the x-headers x-trace-id, x-span-id and x-request-id (XTrace). A valid traceparent always
// wins; the x-headers are read only without one, so a caller that knows only x-trace-id joins
// the trace. Injecting into a HeaderCarrier writes every header in one pass. OTEL_PROPAGATORS
// names them "tracecontext", "baggage" and "xtrace".
//
// TraceContext is propagation.TraceContext that also passes on a W3C Trace Context Level 2
// tracestate, which the Go SDK's parser refuses whole. XTrace carries the request ID
// (otelctx.RequestID) when otelctx.ValidRequestID accepts it.
//
// # Reading headers
//
// HeaderCarrier adapts an http.Header. Its Get reads repeated headers as W3C requires, where
// the SDK's propagation.HeaderCarrier returns only the first value: two traceparents make a new
// trace, tracestate and baggage fields are joined in order within W3C's limits, and anything
// past a limit is refused whole, never cut. httpctx's handler and transport use it; grpcctx
// reads gRPC metadata by the same rules.
//
// # Bad headers
//
// A WarnLimiter reports bad incoming headers (ErrBadHeader, as a *HeaderWarning) at most once
// per interval and counts the rest. The HTTP and gRPC server handlers take one with their
// WithWarnLimiter option; a handler given a ctxtrail Provider uses the Provider's, which its
// Shutdown flushes.
//
// The package imports the OpenTelemetry API and otelctx only: naming a propagator compiles no
// HTTP handler, gRPC or exporter.
package propagators
