// Package otelctx is ctxtrail's request context: typed context slots, the request store, the
// tracer provider set-up and (in the files on propagation) the headers that carry a trace from
// one service to the next.
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
// AddFields is the seed's addContext: fields added to a context are seen by everything derived
// from it (later log lines, child spans, goroutines handed the context) and never by the parent
// or a sibling request. The store is copy-on-write and bounded to MaxFields keys.
//
// # Install
//
// Install builds and registers the tracer provider: resource (service name, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, host and process), sampler (parent-based always-on, or
// OTEL_TRACES_SAMPLER), batch processor (OTEL_BSP_*), exporter (options, then
// OTEL_TRACES_EXPORTER, then OTLP when an OTEL_EXPORTER_OTLP_ENDPOINT is set, else JSON lines on
// stdout) and propagators (OTEL_PROPAGATORS). A bad setting is an error wrapping ErrConfig that
// names the setting; nothing falls back silently. Shutdown flushes and returns by its context's
// deadline even if the collector hangs.
//
//	p, err := otelctx.Install(ctx, otelctx.WithServiceName("orders"))
//	if err != nil {
//		return err
//	}
//	defer p.Shutdown(context.Background())
package otelctx
