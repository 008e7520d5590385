package ctxtrail

import (
	"context"
	"errors"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanExportHold wraps the span processors that export: spans/evidence's *Recorder is one (its
// WrapProcessor holds a captured request's server span until the capture's breakdown can go on
// its attributes). WrapProcessor returns the processor to register in next's place; it must
// hand next every span it is given, at once or later, and shut next down from its Shutdown.
type SpanExportHold interface {
	WrapProcessor(next sdktrace.SpanProcessor) sdktrace.SpanProcessor
}

// WithSpanExportHold puts h in front of Install's exporting pipelines (all of them, one hold for
// all, so a span is held once) and of the in-process capture's hand-off (WithKeepErrorsAndSlow),
// so that a span h holds reaches every exporter when h lets it go. Pass a spans/evidence
// Recorder armed with the flight recorder:
//
//	rec, err := evidence.New(evidence.WithFlightRecorder(500 * time.Millisecond))
//	p, err := ctxtrail.Install(ctx, ctxtrail.WithSpanExportHold(rec))
//	http.ListenAndServe(addr, httpctx.NewHandler(rec.Middleware(mux), httpctx.WithTracerProvider(p.TracerProvider())))
//
// The Provider's Shutdown shuts h down before the batch processors behind it, so the spans it
// still holds are exported. Processors given with WithSpanProcessor and the terminal waterfall
// are not behind h: they see each span when it ends.
func WithSpanExportHold(h SpanExportHold) Option {
	return optionFunc(func(c config) config {
		if h != nil {
			c.exportHolds = append(append([]SpanExportHold(nil), c.exportHolds...), h)
		}
		return c
	})
}

// exportingProcessors registers the pipelines with the tracer provider, behind the export holds
// when there are any, and returns what the in-process capture hands its spans to, and the
// processors Shutdown stops by hand when the SDK skips them (the holds among them).
func exportingProcessors(tpOpts []sdktrace.TracerProviderOption, pipes []*pipeline, holds []SpanExportHold,
	processors []sdktrace.SpanProcessor) ([]sdktrace.TracerProviderOption, []sdktrace.SpanProcessor, []sdktrace.SpanProcessor) {
	exporting := make([]sdktrace.SpanProcessor, len(pipes))
	for i, pl := range pipes {
		exporting[i] = pl
	}
	if len(holds) > 0 && len(pipes) > 0 {
		var sp sdktrace.SpanProcessor = pipes[0]
		if len(pipes) > 1 {
			sp = fanout(exporting)
		}
		for _, h := range holds {
			if w := h.WrapProcessor(sp); w != nil {
				sp = w
			}
		}
		exporting = []sdktrace.SpanProcessor{sp}
		processors = append(append([]sdktrace.SpanProcessor(nil), processors...), sp)
	}
	for _, sp := range exporting {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
	}
	return tpOpts, exporting, processors
}

// fanout hands each span to every exporting pipeline, in order.
type fanout []sdktrace.SpanProcessor

func (f fanout) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	for _, sp := range f {
		sp.OnStart(parent, s)
	}
}

func (f fanout) OnEnd(s sdktrace.ReadOnlySpan) {
	for _, sp := range f {
		sp.OnEnd(s)
	}
}

func (f fanout) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, sp := range f {
		errs = append(errs, sp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

func (f fanout) Shutdown(ctx context.Context) error {
	var errs []error
	for _, sp := range f {
		errs = append(errs, sp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
