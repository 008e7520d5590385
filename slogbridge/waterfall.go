package slogbridge

import (
	"log/slog"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// WithWaterfall hands every record logged in a span's context to p, the terminal waterfall,
// which prints it under that span's trace: each request's waterfall comes with its own lines.
// Give it the Provider's printer, otelctx.Provider.Waterfall(); a nil p (the waterfall was not
// chosen) does nothing. The record's own attributes go with it (under its open groups), not the
// context's, which would repeat on every line. The line is queued, never waited for. It is
// zapbridge.WithWaterfall for log/slog.
func WithWaterfall(p *waterfall.Printer) Option {
	return optionFunc(func(c config) config { c.waterfall = p; return c })
}

func toWaterfall(p *waterfall.Printer, span trace.Span, r slog.Record, groups []group) {
	sc := span.SpanContext()
	if !sc.TraceID().IsValid() {
		return
	}
	p.Log(waterfall.Line{
		Time: r.Time, TraceID: sc.TraceID(), SpanID: sc.SpanID(),
		Level: strings.ToLower(r.Level.String()), Message: r.Message,
		Attrs: appendRecord(make([]attribute.KeyValue, 0, r.NumAttrs()), r, groups),
	})
}
