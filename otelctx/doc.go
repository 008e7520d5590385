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
// AddFields does what adding to the request's store does in Node, where the store is held by
// AsyncLocalStorage: fields added to a context are seen by everything derived from it (later
// log lines, child spans, goroutines handed the context) and never by the parent or a sibling
// request. The store is copy-on-write and bounded to MaxFields keys.
//
// # Install
//
// Install builds and registers the tracer provider: resource (service name, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, host and process), sampler (parent-based always-on, or
// OTEL_TRACES_SAMPLER, including jaeger_remote and parentbased_jaeger_remote, which poll Jaeger for
// per-service and per-operation rates), batch processor (OTEL_BSP_*), exporter (options, then
// OTEL_TRACES_EXPORTER, then OTLP when an OTEL_EXPORTER_OTLP_ENDPOINT is set, else JSON lines on
// stdout, written ConsoleScheduleDelay after the spans end, whatever the exporters' order) and
// propagators (OTEL_PROPAGATORS: tracecontext, baggage, xtrace, b3, b3multi, jaeger or none).
// ExporterWaterfall ("ctxtrail-waterfall", or WithWaterfall) draws each trace in the terminal
// when its local root ends, with its log lines (package otelctx/waterfall; Provider.Waterfall
// hands the printer to zapbridge.WithWaterfall). A bad setting is an error wrapping ErrConfig that
// names the setting; nothing falls back silently. An OTEL_* variable that neither Install nor
// the SDK it builds reads (OTEL_CONFIG_FILE among them: configuration files are not supported
// yet) is reported once per Install, as an error wrapping ErrEnvIgnored. Shutdown flushes and
// returns by its context's deadline even if the collector hangs.
//
// No span is lost silently. Provider.Stats counts, per exporter, the spans ended, exported,
// dropped because the export queue was full, and carried by exports that failed; losses are
// reported at most once per interval (WithLossWarnings, otel.Handle by default) as errors
// wrapping ErrSpansLost, and ForceFlush and Shutdown return such an error when an export fails
// during the call. A spans.Monitor given to WithSpanProcessor shows the same counters on its
// page: Install hands it Provider.Stats (Monitor.SetExportStats).
//
//	p, err := ctxtrail.Install(ctx, ctxtrail.WithServiceName("orders"))
//	if err != nil {
//		return err
//	}
//	defer p.Shutdown(context.Background())
//
// # Logs
//
// Install also builds a LoggerProvider for OpenTelemetry's logs signal (logs.go): exporter from
// WithLogExporter / WithLogExporterName / WithoutLogs, then OTEL_LOGS_EXPORTER (console, otlp,
// none), then OTLP when OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set, else none, as for metrics: the
// service's own zap core or slog handler already writes the lines, so by default they are not
// printed twice, and an OTEL_EXPORTER_OTLP_ENDPOINT alone often points at a traces-only
// collector (a stock Jaeger) that would refuse every logs export.
// Batching follows WithLogBatch, then OTEL_BLRP_*. Provider.LogStats counts records as Stats
// counts spans (a full queue refuses new records, never blocks, and counts them; records logged
// after Shutdown are counted as dropped); losses are reported like spans' as errors wrapping
// ErrLogsLost. Shutdown flushes both signals at once, by the same deadline. The bridges feed it
// with zapbridge.WithLoggerProvider(p.LoggerProvider()) and slogbridge.WithLoggerProvider(...).
//
// # Metrics
//
// Install also builds a MeterProvider (metrics.go): readers from WithMetricsExporterName /
// WithMetricReader / WithoutMetrics, then OTEL_METRICS_EXPORTER (otlp, prometheus, console,
// none), then otlp when OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, else none; every
// OTEL_METRIC_EXPORT_INTERVAL milliseconds (WithMetricExportInterval). The prometheus exporter
// serves MetricsPath on OTEL_EXPORTER_PROMETHEUS_HOST:_PORT (localhost:9464; WithPrometheusAddr),
// in the OpenMetrics format with exemplars when asked, from Install to Shutdown; a port in use is
// an Install error. Provider.MetricsHandler serves the same on the program's own server (with
// WithoutPrometheusServer, no port is opened). NewHandler and
// NewTransport record http.server.request.duration, http.server.active_requests and
// http.client.request.duration as otelhttp does (httpmetrics.go), with attribute sets cached per
// route and status so that recording allocates nothing; WithMeterProvider and WithProvider choose
// the provider (the global one by default). With a no-op provider, or one Install built without a
// reader (metrics off, the default), they skip recording altogether. health.go publishes the pipelines' counters
// (otel.sdk.processor.span.processed and friends), the WarnLimiters' bad-header counts, and the
// metrics of any span processor that implements MetricsRegisterer, such as spans.Monitor.
//
// # Propagation
//
// NewHandler and NewTransport carry a trace across HTTP in W3C traceparent, tracestate and
// baggage and in x-trace-id, x-span-id and x-request-id (propagators.XTrace; part of
// Install's default, propagators.New; OTEL_PROPAGATORS name "xtrace"). A valid traceparent
// always wins; the x-headers are read only
// without one, so a caller that knows only x-trace-id joins the trace. OTEL_PROPAGATORS may
// also name b3 (the single b3 header), b3multi (x-b3-*) and jaeger (uber-trace-id), which use
// contrib's propagators; name xtrace beside them to keep the x-headers (b3,xtrace), which are
// then read only when none of the others brought a trace context, so their flags (a B3 "not
// sampled") win. The request ID goes with every propagator. propagators.HeaderCarrier reads
// repeated headers as W3C requires: two traceparents make a new trace, tracestate and baggage
// fields are joined in order. A Level 2 tracestate, which the SDK's parser refuses, is passed on
// unchanged (propagators.TraceContext). The request ID is a safe incoming x-request-id
// ([A-Za-z0-9._@:-], at most 128 bytes) or a new one; it is echoed on the response and
// forwarded by the transport, and every server and client span carries it as
// ctxtrail.request_id (AttrRequestID), so a tag search finds the trace of a logged request.
//
// # Middleware
//
// The middleware stands alone rather than wrapping otelhttp: it needs its own carrier, request
// store and trust boundary, and a hot path short enough to measure. It starts no goroutine.
// WithTrustBoundary, for public endpoints, starts a new root linked to the incoming context (the
// link carries no tracestate) and lets in only the baggage members allowed by name. There the
// request runs under a request ID the service makes, which its logs, error reports, downstream
// calls and the response's x-request-id carry; the caller's safe x-request-id is kept on the
// server span and in the request store as AttrCallerRequestID, so it can still be searched.
// WithTrustedRequestID adopts it instead, for a handler behind a proxy that sets the header.
// WithFilter leaves requests untraced (health checks; the monitor's page at MonitorPath and the
// scrape endpoint at MetricsPath are left out by default). A ServeMux that NewHandler wraps, directly or through trail.NewHandler, is
// asked for the pattern it will match before it serves, so the server span is named by its
// route ("GET /users/{id}") from its start; routers other than http.ServeMux name the route
// with SetRoute, which renames the span at once. Server spans carry the attributes otelhttp
// sets: server.address and server.port, client.address, network.peer.address and port, the
// body sizes. Those the semantic conventions name as relevant to sampling (method, path,
// scheme, server address and port, client.address, user agent) and http.route, when the route
// is known then, are given at span start, where samplers and OnStart processors see them; the
// connection's peer and protocol version come with the status at the end.
//
//	handler := otelctx.NewHandler(mux)                     // server spans, request ID, store
//	client := &http.Client{Transport: otelctx.NewTransport(nil)} // client spans, headers out
//
// # Bad input
//
// Everything read from the network is bounded and never panics: bad headers start a fresh trace
// and are reported through a propagators.WarnLimiter (one line per interval, the rest counted; the default
// sink is otel.Handle). A header refused for being over a limit warns like a malformed one: a
// tracestate of more than 32 members, 64 fields or 32 full members' bytes is discarded whole
// (the traceparent still counts) and reported.
//
// Where the reports go: by default otel.Handle, which prints plain-text lines through the
// standard log package. WithErrorLogger (a *slog.Logger; slogbridge's handlers fit) or
// WithErrorHandler (a func; zapbridge.ErrorHandler adapts a *zap.Logger) make Install route
// them, and the SDK's own errors, to the service's logger as structured Warn records
// (ErrorFields), still counted and rate-limited. Handlers given WithProvider(p) share
// p.WarnLimiter(), and p.Shutdown reports what the limiters swallowed since their last report
// (propagators.WarnLimiter.Flush).
package otelctx
