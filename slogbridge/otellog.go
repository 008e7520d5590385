package slogbridge

import (
	"context"
	"log/slog"

	"github.com/ctxtrail/ctxtrail/internal/logctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
)

// ScopeName is the instrumentation scope of the OpenTelemetry logger WithLoggerProvider uses.
const ScopeName = logctx.OTelScope + "slogbridge"

// WithLoggerProvider also emits every record the next handler is given as an OpenTelemetry log
// record through lp (ctxtrail.Provider.LoggerProvider(), or any provider): the span's trace ID,
// span ID and flags on the record itself, the severity mapped from the level (slog's level + 9,
// as OpenTelemetry's log bridges do), the record's time as both its time and its observed time,
// the message as the body, and as attributes the request ID, the request-store fields, the
// chosen baggage members and the record's own attributes (groups flattened into dotted keys,
// string values cut at MaxValueLen, no reflection for slog's kinds, errors and Stringers). The
// SDK's batch processor queues the record; with otelctx's pipeline a full queue drops and counts
// it, so the logging goroutine never waits for the exporter. With otelctx's provider, a record
// whose attribute keys the bridge finds unique skips the SDK's own duplicate-key check (what is
// exported is the same). A provider that is not enabled when the option is applied is ignored.
// What the next handler writes does not change. A nil lp is ignored. Attributes given to next
// itself (next.WithAttrs) before NewHandler are written by next but cannot reach the records:
// give them to the logger over the bridge (slog.New(h).With) instead.
func WithLoggerProvider(lp log.LoggerProvider) Option {
	return optionFunc(func(c config) config {
		if lp == nil {
			return c
		}
		// A provider with nowhere to send records (otelctx with no log exporter, an SDK
		// provider without processors) is skipped here, so the option then costs nothing.
		if l := lp.Logger(ScopeName); l.Enabled(context.Background(), log.EnabledParameters{}) {
			c.otel, c.otelUnique = l, nil
			if u, ok := lp.(logctx.UniqueKeysProvider); ok {
				c.otelUnique = u.UniqueKeysLogger(ScopeName)
			}
		}
		return c
	})
}

// severity maps a slog level to an OpenTelemetry severity number: Debug 5, Info 9, Warn 13,
// Error 17, levels in between in between.
func severity(l slog.Level) log.Severity {
	return log.Severity(min(max(int(l)+9, int(log.SeverityTrace1)), int(log.SeverityFatal4)))
}

// otelInline is how many attributes an OpenTelemetry record gets without a heap allocation in
// the bridge (the SDK keeps five in the record itself).
const otelInline = 10

// emitOTel emits r as an OpenTelemetry log record. top are the attributes given to WithAttrs
// before any group, groups the open groups.
func (h *handler) emitOTel(ctx context.Context, r slog.Record, lc *logctx.Line) {
	if ctx == nil {
		ctx = context.Background()
	}
	var rec log.Record
	rec.SetTimestamp(r.Time)
	if !r.Time.IsZero() {
		// Observed now, as the record is made: the SDK would otherwise read the clock again.
		rec.SetObservedTimestamp(r.Time)
	}
	rec.SetSeverity(severity(r.Level))
	rec.SetSeverityText(r.Level.String())
	rec.SetBody(attribute.StringValue(bound(r.Message)))

	var buf [otelInline]attribute.KeyValue
	kvs := h.e.g.AppendOTel(buf[:0], lc)
	for _, a := range h.top {
		kvs = appendAttr(kvs, "", a)
	}
	kvs = appendRecord(kvs, r, h.groups)
	rec.AddAttributes(kvs...)
	l := h.e.cfg.otel
	if h.e.cfg.otelUnique != nil && logctx.UniqueKeys(kvs) {
		l = h.e.cfg.otelUnique // the SDK's duplicate-key check would find nothing
	}
	l.Emit(ctx, rec)
}
