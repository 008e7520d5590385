// Package otelctx is ctxtrail's request context: typed context slots, the request store, the
// request ID and the route, with nothing heavier than the OpenTelemetry trace and attribute
// APIs. The log bridges, spans and error reports import it; the HTTP and gRPC instrumentation
// (otelctx/httpctx, otelctx/grpcctx) fill it for each request, and ctxtrail.Install sets up the
// providers.
//
// # Typed slots: AsyncLocalStorage for Go
//
// Node's AsyncLocalStorage follows the work through callbacks; in Go the context.Context is
// passed explicitly and child contexts inherit their parent's values, so a typed key is all
// that is needed:
//
//	var tenant = otelctx.NewKey[string]("tenant")
//
//	ctx = tenant.With(ctx, "acme")     // store.run(value, ...)
//	t, ok := tenant.From(ctx)          // store.getStore()
//
// Keys compare by identity, never by name, so two packages cannot collide.
//
// # The request store
//
// AddFields does what adding to the request's store does in Node, where the store is held by
// AsyncLocalStorage: fields added to a context are seen by everything derived from it (later
// log lines, child spans, goroutines handed the context) and never by the parent or a sibling
// request. The store is copy-on-write and bounded to MaxFields keys.
//
// # The request ID and the route
//
// RequestID is the ID a request runs under: the safe x-request-id it came with or a new one
// (NewRequestID), set by otelctx/httpctx's handler and grpcctx's server handler, written by the
// log bridges as request_id and by the instrumentation as the span attribute AttrRequestID.
// ValidRequestID is the rule for a safe ID ([A-Za-z0-9._@:-], at most MaxRequestIDLen bytes).
// Route is the route template of the request ("/users/{id}"), from a ServeMux pattern or
// SetRoute, which routers other than http.ServeMux call once they have matched.
//
// ErrorFields turns the reports of ctxtrail's warnings and the SDK's errors into a log message
// and fields, for the log bridges' error handlers.
package otelctx
