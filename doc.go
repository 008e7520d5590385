// Package ctxtrail sets up OpenTelemetry for a service in one call, Install: traces, logs and
// metrics from options or the standard OTEL_* variables, each with a bounded pipeline, loss
// accounting and a Shutdown that flushes by its deadline. It is the one ctxtrail package that
// compiles exporters (OTLP over HTTP and gRPC, stdout, Prometheus, the terminal waterfall); the
// request context (otelctx), its HTTP and gRPC instrumentation (otelctx/httpctx,
// otelctx/grpcctx), the span helpers (spans) and the log bridges (zapbridge, slogbridge) never
// import it, so a service pays for exporters only where it installs them.
//
// # Install
//
// Install builds and registers the tracer provider: resource (service name, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, host and process), sampler (parent-based always-on, or
// OTEL_TRACES_SAMPLER, including jaeger_remote and parentbased_jaeger_remote, which poll Jaeger for
// per-service and per-operation rates when Install is given jaegerremote.Enable() and are an
// ErrConfig error without it), batch processor (OTEL_BSP_*), exporter (options, then
// OTEL_TRACES_EXPORTER, then OTLP when an OTEL_EXPORTER_OTLP_ENDPOINT is set, else JSON lines on
// stdout, written ConsoleScheduleDelay after the spans end, whatever the exporters' order) and
// propagators (OTEL_PROPAGATORS: tracecontext, baggage, xtrace, b3, b3multi, jaeger or none).
// ExporterWaterfall ("ctxtrail-waterfall", or WithWaterfall) draws each trace in the terminal
// when its local root ends, with its log lines (package otelctx/waterfall; Provider.Waterfall
// hands the printer to zapbridge.WithWaterfall). A bad setting is an error wrapping ErrConfig that
// names the setting; nothing falls back silently. An OTEL_* variable that neither Install nor
// the SDK it builds reads is reported once per Install, as an error wrapping ErrEnvIgnored.
// OTEL_CONFIG_FILE is read through module otelconfig (otelconfig.FromEnv or Enable); without
// it, the variable is an ErrConfig error. Shutdown flushes and
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
// WithoutPrometheusServer, no port is opened). otelctx/httpctx's NewHandler and
// NewTransport record http.server.request.duration, http.server.active_requests and
// http.client.request.duration as otelhttp does (httpctx's httpmetrics.go), with attribute sets cached per
// route and status so that recording allocates nothing; WithMeterProvider and WithProvider choose
// the provider (the global one by default). With a no-op provider, or one Install built without a
// reader (metrics off, the default), they skip recording altogether. health.go publishes the pipelines' counters
// (otel.sdk.processor.span.processed and friends), the WarnLimiters' bad-header counts, and the
// metrics of any span processor that implements MetricsRegisterer, such as spans.Monitor.
//
// # Where the warnings go
//
// By default otel.Handle, which prints plain-text lines through the standard log package.
// WithErrorLogger (a *slog.Logger; slogbridge's handlers fit) or WithErrorHandler (a func;
// zapbridge.ErrorHandler adapts a *zap.Logger) make Install route its own warnings, the SDK's
// errors and the bad-header reports of handlers given httpctx.WithProvider(p) to the service's
// logger as structured Warn records (otelctx.ErrorFields), still counted and rate-limited; they
// are in place before Install builds anything, and p.Shutdown reports what the limiters
// swallowed since their last report.
package ctxtrail
