// Package trail is ctxtrail's error tracker: a per-request trail of breadcrumbs kept in the
// request's context, reports captured from errors and panics with that trail, the error chain,
// a stack and the request's IDs, and a middleware that turns a panic into a captured report
// and a 500 instead of a dead connection.
//
// # The trail
//
// Start puts a new, empty trail into a context; NewHandler (or Middleware) does it for each
// HTTP request. Every context derived from it, in any goroutine (tasks started with spans.Go
// included), adds to the same trail, and nothing else does: there is no global hub, so the
// crumbs of concurrent requests never mix.
//
//	trail.AddBreadcrumb(ctx, "cart loaded", attribute.Int("items", 3))
//	trail.Add(ctx, trail.Breadcrumb{Level: trail.LevelWarning, Category: "http", Message: "retry"})
//
// A breadcrumb has a timestamp, a level, a category, a message and data attributes. Each is
// also recorded as a span event named "breadcrumb" on the span in the context, so a trace shows
// the crumbs too; on a context without a trail AddBreadcrumb records the event and keeps nothing.
//
// The trail is bounded: DefaultMaxBreadcrumbs (100) crumbs and DefaultMaxBytes (64 KiB), the
// oldest dropped first and counted (WithMaxBreadcrumbs, WithMaxBytes; 0 keeps none), messages
// and string data cut at MaxMessageLen bytes, at most MaxData attributes a crumb. A
// WithBeforeBreadcrumb filter sees every crumb before it is kept or recorded on the span, and
// may change it or drop it: the place to scrub secrets.
//
// # Reports
//
// Capture(ctx, err) builds a Report, records err on the span in ctx (an "exception" event with
// the report's ID, status Error), sends the report to the trail's Sink and returns it. The
// report holds:
//
//   - the error chain, walked through errors.Unwrap and errors.Join (depth first, at most
//     MaxErrors errors and MaxErrorDepth levels), each error with its Go type;
//   - a stack of at most WithMaxFrames frames: the deepest StackTracer's in the chain (see
//     Stack), or a *spans.PanicError's, or else Capture's caller's;
//   - the trace and span IDs of the span in ctx, the request ID (otelctx.RequestID) and the
//     request-store fields (otelctx.AddFields) named by WithFieldKeys: by default
//     http.request.method, url.path, http.route, rpc.service, rpc.method, enduser.id and
//     user.id (http.route from otelctx.Route when the store lacks it). A field set with
//     trail.AddFields reaches reports captured from outer contexts of the request too, such as
//     the panic middleware's;
//   - a copy of the trail's breadcrumbs and how many the caps dropped.
//
// CapturePanic does the same for a recovered panic value, with the stack of the panic.
//
// # Sinks
//
// A Sink receives reports and must not block the request. Package trailzap
// (spans/trail/trailzap) has the log sink: trailzap.NewLogSink writes each report as one
// structured zap log line at error level through a bounded queue and one goroutine, counting
// what it drops; stop it with Shutdown. It is apart so that this package does not compile zap.
// SinkFunc and MemorySink are synchronous sinks for tests. A trail without a sink still builds
// reports and records them on spans, but sends them nowhere. RegisterMetrics publishes the
// breadcrumbs the caps dropped and the reports the sinks dropped (see DropCounter).
//
//	sink := trailzap.NewLogSink(logger)
//	defer sink.Shutdown(context.Background())
//	handler := httpctx.NewHandler(trail.NewHandler(app, trail.WithSink(sink)))
//
// # Panics
//
// NewHandler recovers a panic in the handler it wraps, captures it with the request's
// breadcrumbs and records it on the span, answers 500 if the handler had not sent its headers
// (and otherwise aborts the response, so a cut body never passes for a whole one) and lets the
// server go on. Put it inside httpctx.NewHandler so the span and request store are there.
//
// For gRPC servers, package trailgrpc (spans/trail/trailgrpc) does the same with interceptors
// that answer codes.Internal; it is apart so that this package does not compile gRPC.
//
// # Log lines as breadcrumbs
//
// trailzap.LogBreadcrumb has the signature of zapbridge's hooks, and SlogBreadcrumb that of
// slogbridge's, so that every error-level line logged with a request's context becomes a crumb
// of that request (category "log"):
//
//	log := zapbridge.New(zl, zapbridge.WithErrorHook(trailzap.LogBreadcrumb))
//
// # Report JSON
//
// A report marshals to one JSON object (json.Marshal), and trailzap's LogSink line carries the
// same fields beside zap's level, ts and msg. Optional fields are left out when empty. An example,
// captured in a handler behind otelctx's middleware, with WithMaxFrames(3):
//
//	{
//	  "id": "b5cc70c716b65004b6c45f622d6f7594",
//	  "timestamp": "2025-03-01T12:00:00.417781557Z",
//	  "message": "checkout: card declined\naudit log unavailable",
//	  "errors": [
//	    {"type": "*fmt.wrapError", "message": "checkout: card declined\naudit log unavailable", "depth": 0},
//	    {"type": "*errors.joinError", "message": "card declined\naudit log unavailable", "depth": 1},
//	    {"type": "*errors.errorString", "message": "card declined", "depth": 2},
//	    {"type": "*errors.errorString", "message": "audit log unavailable", "depth": 2}
//	  ],
//	  "stack_source": "capture",
//	  "stack": [
//	    {"function": "example.com/shop.checkout", "file": "/src/shop/checkout.go", "line": 18},
//	    {"function": "net/http.HandlerFunc.ServeHTTP", "file": "/usr/local/go/src/net/http/server.go", "line": 2286},
//	    {"function": "github.com/ctxtrail/ctxtrail/spans/trail.(*handler).ServeHTTP", "file": "/src/ctxtrail/spans/trail/middleware.go", "line": 66}
//	  ],
//	  "trace_id": "a36ee19df0185b04858cce14951a28b7",
//	  "span_id": "113537671555290f",
//	  "request_id": "req-7f3a",
//	  "context": {"http.request.method": "POST", "url.path": "/checkout", "enduser.id": "u-1017"},
//	  "breadcrumbs": [
//	    {"timestamp": "2025-03-01T12:00:00.417758363Z", "level": "info", "category": "default",
//	     "message": "cart loaded", "data": {"items": 3}},
//	    {"timestamp": "2025-03-01T12:00:00.417766709Z", "level": "warning", "category": "http",
//	     "message": "payment gateway retry", "data": {"attempt": 2}}
//	  ]
//	}
//
// The fields, in order:
//
//   - id: 32 hex digits, also the ctxtrail.report.id attribute of the span's exception event.
//   - timestamp: RFC 3339 with nanoseconds, UTC.
//   - message: the captured error's message; for a panic whose value is not an error,
//     "panic: " and the value.
//   - panic: true when captured from a panic (left out otherwise).
//   - errors: the chain, outermost first, depth first; depth 0 is the captured error. A panic
//     value that is not an error appears with its own type ("string").
//   - errors_truncated: true when the chain was cut (left out otherwise).
//   - stack_source: "capture", "error" (a StackTracer in the chain) or "panic".
//   - stack: innermost call first.
//   - trace_id, span_id: of the span in the context, when there is a valid one.
//   - request_id: otelctx.RequestID, when set.
//   - context: the request-store fields named by WithFieldKeys that the request holds, each in
//     its JSON type (string, number, bool or array).
//   - breadcrumbs: oldest first, always present (possibly empty); data is left out when empty.
//   - breadcrumbs_dropped: crumbs the trail's caps dropped (left out when none).
//
// # Goroutines
//
// The package starts none; trailzap's LogSink runs one, stopped by its Shutdown.
package trail
