// Package zapbridge is context-enriched zap logging: every line logged for a request carries
// that request's trace_id, span_id, request_id, the fields the code put in the request store and
// chosen baggage members, with no formatting on the hot path.
//
// # Two ways in
//
// Code that has a context logs through a Logger, which feels like zap:
//
//	log := zapbridge.New(zapLogger)
//	log.Ctx(ctx).Info("charged", zap.Int("cents", 1250))
//	log.InfoContext(ctx, "charged", zap.Int("cents", 1250)) // the same line
//
// Code that holds only a *zap.Logger passes the context as a field, and a core made by NewCore
// (Logger.Zap returns a logger over one) expands it:
//
//	zl := zap.New(zapbridge.NewCore(jsonCore))
//	zl.Info("charged", zapbridge.Context(ctx), zap.Int("cents", 1250))
//
// Cores that do not know the field skip it, so the field is safe to pass anywhere.
//
// # What a line carries
//
// From the line's context: trace_id and span_id of trace.SpanFromContext(ctx) when its span
// context is valid (no span, no IDs: never empty or zero IDs), parent_span_id when
// WithParentSpanIDKey asks for it, request_id from otelctx.RequestID, every field of
// otelctx.FieldsFrom (added once with otelctx.AddFields, written on every later line of the call
// chain), and the baggage members named by WithBaggageMembers. Names are configurable. The
// context's fields come first, then the line's own.
//
// Values go through zap's encoder like any field: a CR or LF in a request ID or a baggage value
// is escaped, so it cannot start a forged line.
//
// # Spans
//
// WithSpanEvents mirrors lines at or above a level as "log" events on the line's span, with the
// log.* and code.* attributes of the OpenTelemetry conventions. Error-level lines set the span's
// status to Error unless WithoutErrorStatus. WithHook and WithErrorHook give error tracking
// (breadcrumbs) each line with its context. These run before the line is written, so Panic and
// Fatal lines still reach the span.
//
// # OpenTelemetry logs
//
// WithLoggerProvider also emits every line as an OpenTelemetry log record, with the span's
// trace ID, span ID and flags as the record's own fields (not attributes), the severity mapped
// from the level, and the context's and the line's attributes converted without reflection for
// the common types. With otelctx it is one option:
//
//	p, _ := ctxtrail.Install(ctx) // OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (or OTEL_LOGS_EXPORTER=otlp) set
//	... WithLoggerProvider(p.LoggerProvider())
//
// Fields given to a *zap.Logger's With before New reach zap's output only: zap has encoded them
// into its core, where nothing can read them back. Give them to the Logger's With, or wrap the
// core with NewCore first (zap.New(zapbridge.NewCore(core)).With(...)): a bridge core keeps its
// With fields, and New over such a logger carries them into the records.
//
// The record goes through the SDK's batch processor, which otelctx bounds and counts
// (Provider.LogStats): a full queue drops the record, never blocks the logging goroutine. What
// the user's own output gets is unchanged, byte for byte (the tests compare).
//
// # ctxtrail's own reports
//
// ErrorHandler writes what otelctx reports (bad incoming headers, lost spans, the OpenTelemetry
// SDK's errors) as structured Warn lines of your zap logger instead of plain-text log lines:
// ctxtrail.Install(ctx, ctxtrail.WithErrorHandler(zapbridge.ErrorHandler(zl))).
//
// # Cost
//
// Hex-encoding trace and span IDs on every line would cost more than the rest of the enrichment.
// A Logger keeps the encoded IDs of recent spans in a bounded, lock-free table keyed by span, so
// a span's IDs are encoded on its first line only. A disabled level costs one level check and
// nothing else; an enabled line costs one allocation, the field slice, as a plain zap call with
// fields does. The benchmarks module compares it with plain zap and the otelzap bridges.
package zapbridge
