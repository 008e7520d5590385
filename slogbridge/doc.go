// Package slogbridge is context-enriched log/slog logging, the twin of zapbridge: every record
// logged for a request carries that request's trace_id, span_id, request_id, the fields the code
// put in the request store and chosen baggage members, over any slog.Handler.
//
// # Quick start
//
//	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(os.Stdout, nil),
//		slogbridge.WithErrorHook(trail.SlogBreadcrumb)))
//	log.InfoContext(ctx, "charged", "cents", 1250)
//	// {"time":"…","level":"INFO","msg":"charged","trace_id":"4bf9…","span_id":"00f0…","request_id":"req-1","cents":1250}
//
// Log with the ...Context methods (or Log/LogAttrs with a context): the record's context is
// where the IDs come from. A record without a context, or whose context has no valid span,
// carries no IDs at all, never empty or zero ones.
//
// # What a record carries
//
// The same as a zapbridge line, under the same default keys: trace_id and span_id of
// trace.SpanFromContext(ctx), parent_span_id when WithParentSpanIDKey asks for it, request_id
// from otelctx.RequestID, every field of otelctx.FieldsFrom, and the baggage members named by
// WithBaggageMembers. The context's attributes come first, then the record's own.
//
// # Groups
//
// The context's attributes always stay at the top level of the record, even inside
// Logger.WithGroup: a log search for trace_id="…" finds every line of a trace whatever group the
// code logged in, and the IDs are never written as "http.trace_id". The record's own attributes
// and those given to With inside a group go in the group, exactly where the next handler would
// put them without the bridge (the package's tests compare the two outputs byte for byte, and
// run testing/slogtest over slog.JSONHandler). To do that the handler keeps open groups itself
// and hands next a record with the groups as nested group attributes, so a record logged inside
// a group costs an allocation or two more than one logged outside.
//
// # Spans and hooks
//
// WithSpanEvents mirrors records at or above a level as "log" events on the record's span, with
// the same attributes as zapbridge's (groups flatten into dotted keys; string values are cut at
// MaxValueLen). Error-level records set the span's status to Error unless WithoutErrorStatus.
// WithHook and WithErrorHook give error tracking each record with its context:
// trail.SlogBreadcrumb is the breadcrumb hook, as trailzap.LogBreadcrumb is for zapbridge. They run
// before the record reaches the next handler, and whatever next returns (an error included) is
// returned as it is.
//
// # OpenTelemetry logs
//
// WithLoggerProvider also emits every record as an OpenTelemetry log record, with the span's
// trace ID, span ID and flags as the record's own fields (not attributes), the severity mapped
// from the level, and the context's and the record's attributes converted without reflection for
// the common types. With otelctx it is one option:
//
//	p, _ := ctxtrail.Install(ctx) // OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (or OTEL_LOGS_EXPORTER=otlp) set
//	... WithLoggerProvider(p.LoggerProvider())
//
// The record goes through the SDK's batch processor, which otelctx bounds and counts
// (Provider.LogStats): a full queue drops the record, never blocks the logging goroutine. What
// the user's own output gets is unchanged, byte for byte (the tests compare).
//
// # Cost
//
// Enabled asks next and does nothing else, so a disabled level costs what it costs without the
// bridge. An enabled record outside a group allocates nothing more than next would for the same
// record with the IDs passed by hand: the encoded IDs of recent spans are cached (shared with
// zapbridge's design), and up to five attributes in all stay inside the slog.Record. The
// benchmarks module compares it with plain slog and otelslog (BENCHMARKS.md).
package slogbridge
