package slogbridge

import (
	"log/slog"
	"reflect"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// LineWriter is where WithWaterfall sends lines: the terminal waterfall's *waterfall.Printer
// (ctxtrail's Provider.Waterfall()) is one. An interface, so that this package does not compile
// the waterfall and the SDK it draws from.
type LineWriter interface {
	WriteLine(t time.Time, traceID trace.TraceID, spanID trace.SpanID, level, message string, attrs []attribute.KeyValue)
}

// WithWaterfall hands every record logged in a span's context to p, the terminal waterfall,
// which prints it under that span's trace: each request's waterfall comes with its own lines.
// Give it the Provider's printer, ctxtrail's Provider.Waterfall(); a nil p (the waterfall was not
// chosen) does nothing. The record's own attributes go with it (under its open groups), not the
// context's, which would repeat on every line. The line is queued, never waited for. It is
// zapbridge.WithWaterfall for log/slog.
func WithWaterfall(p LineWriter) Option {
	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
		p = nil // Provider.Waterfall() when the waterfall was not chosen: no work per line
	}
	return optionFunc(func(c config) config { c.waterfall = p; return c })
}

func toWaterfall(p LineWriter, span trace.Span, r slog.Record, groups []group) {
	sc := span.SpanContext()
	if !sc.TraceID().IsValid() {
		return
	}
	p.WriteLine(r.Time, sc.TraceID(), sc.SpanID(), strings.ToLower(r.Level.String()), r.Message,
		appendRecord(make([]attribute.KeyValue, 0, r.NumAttrs()), r, groups))
}
