package trail

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// maxWaterfallCrumbs is how many of a report's latest breadcrumbs its waterfall line names.
const maxWaterfallCrumbs = 8

// LineWriter is where NewWaterfallSink sends reports: the terminal waterfall's *waterfall.Printer
// (ctxtrail's Provider.Waterfall()) is one. An interface, so that this package does not compile
// the waterfall and the SDK it draws from.
type LineWriter interface {
	WriteLine(t time.Time, traceID trace.TraceID, spanID trace.SpanID, level, message string, attrs []attribute.KeyValue)
}

// NewWaterfallSink returns a Sink that prints each report as one line under its trace in the
// terminal waterfall p (ctxtrail's Provider.Waterfall()): the message, where the stack comes from,
// and the breadcrumbs that led there. The report's full JSON stays the job of a sink such as
// trailzap.LogSink: combine them with Sinks. It is synchronous, as Printer.WriteLine only queues;
// a nil p, or a nil *waterfall.Printer, does nothing.
func NewWaterfallSink(p LineWriter) Sink {
	return SinkFunc(func(_ context.Context, r *Report) {
		if p == nil || r == nil {
			return
		}
		tid, err := trace.TraceIDFromHex(r.TraceID)
		if err != nil {
			return // not in a trace: no waterfall to print it in
		}
		sid, _ := trace.SpanIDFromHex(r.SpanID)
		p.WriteLine(r.Time, tid, sid, "error", "error report: "+r.Message, []attribute.KeyValue{
			attribute.String("stack", r.StackSource),
			attribute.String("breadcrumbs", crumbPath(r.Breadcrumbs, r.BreadcrumbsDropped)),
		})
	})
}

// crumbPath names the latest crumbs' messages, oldest first: "a → b → c", or "none".
func crumbPath(crumbs []Breadcrumb, dropped int) string {
	if len(crumbs) == 0 && dropped == 0 {
		return "none"
	}
	var b strings.Builder
	if skip := len(crumbs) - maxWaterfallCrumbs; skip > 0 || dropped > 0 {
		b.WriteString("… → ")
		crumbs = crumbs[max(skip, 0):]
	}
	for i, c := range crumbs {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(c.Message)
	}
	return b.String()
}

// Sinks returns a Sink that sends every report to each of sinks, in order; nil ones are
// skipped. With none it is a Sink that does nothing.
func Sinks(sinks ...Sink) Sink {
	var out []Sink
	for _, s := range sinks {
		if s != nil {
			out = append(out, s)
		}
	}
	return SinkFunc(func(ctx context.Context, r *Report) {
		for _, s := range out {
			s.Send(ctx, r)
		}
	})
}
