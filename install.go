package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Provider is what Install sets up: a tracer provider, its exporters and the propagator. Shut it
// down before the process exits so that buffered spans are sent.
type Provider struct {
	tp         *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
	exporters  []string
	pipelines  []*pipeline
	processors []sdktrace.SpanProcessor // WithSpanProcessor's, shut down by hand if the SDK skips them
	metrics    *metricsPipeline         // metrics.go
	logs       *logsSignal              // the logs signal (logs.go)
	headerWarn *propagators.WarnLimiter // errorlog.go
	errors     *errorRouter             // WithErrorHandler's, or nil
	waterfall  *waterfall.Printer       // the terminal waterfall, when chosen

	registrations []metric.Registration // registerHealth's, released by Shutdown (health.go)

	stopExports context.CancelFunc // aborts exports still running when Shutdown's ctx ends
	stopSampler func()             // stops a jaeger_remote sampler's polling
	once        sync.Once
	err         error
}

// Install builds a tracer provider from opts and the standard OTEL_* environment variables,
// registers it and the propagators as the OpenTelemetry globals (unless WithoutGlobal), and
// returns it. Options win over the environment.
//
// The exporter is chosen from the options first (WithExporter, WithExporterName, WithOTLP,
// WithWaterfall, WithoutExporter), then OTEL_TRACES_EXPORTER (console, otlp, ctxtrail-waterfall,
// none, or a comma-separated list), then OTLP if an OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and otherwise the console exporter writing JSON
// lines to stdout (or WithWriter's writer), ConsoleScheduleDelay after the spans end.
//
// The propagators come from WithPropagation, else OTEL_PROPAGATORS (tracecontext, baggage,
// xtrace, b3, b3multi, jaeger, none), else tracecontext, baggage and xtrace in one pass
// (propagators.New).
//
// A bad setting is returned as an error wrapping ErrConfig that names the setting and what it
// wants; Install never falls back silently. An OTEL_* variable in the environment that neither
// Install nor the SDK it builds reads is reported once per Install as an error wrapping
// ErrEnvIgnored. OTEL_CONFIG_FILE needs one of otelconfig's options (an ErrConfig error
// without); with a file, the OTEL_* variables it replaces are not read and are named in one
// warning. WithErrorHandler's function is in place before anything is built, so every warning
// Install raises reaches it.
func Install(ctx context.Context, opts ...Option) (_ *Provider, err error) {
	cfg := routeErrors(newConfig(opts)) // errorlog.go
	// The service's error handler goes in first: everything below may warn.
	router, restoreErrors := routeErrorsFirst(cfg)
	var undo []func(context.Context) error // what Install made so far: stopped if it fails
	defer func() {
		if err != nil {
			restoreErrors()
			stopAll(ctx, undo)
		}
	}()
	cfg, err = applyConfigFile(cfg, opts, router.warn) // configfile.go: OTEL_CONFIG_FILE
	if l := cfg.file.loaded; l != nil && l.Close != nil {
		undo = append(undo, l.Close) // the exporters, readers and printer the file made
	}
	if err != nil {
		return nil, err
	}
	if !cfg.fromFile() {
		warnIgnoredEnv(os.Environ(), router.warn) // env.go
	}

	res, err := buildResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sampler := cfg.sampler
	if sampler == nil {
		if sampler, err = samplerFromEnv(cfg.remoteSampler != nil); err != nil {
			return nil, err
		}
	}
	var batchOpts []sdktrace.BatchSpanProcessorOption
	if !cfg.fromFile() {
		if batchOpts, err = batchOptionsFromEnv(); err != nil {
			return nil, err
		}
	}
	batchOpts = append(batchOpts, cfg.batchOpts...)
	keepOpts, err := keepFromEnv(cfg) // keep.go: the in-process capture, nil when off
	if err != nil {
		return nil, err
	}
	prop, err := buildPropagator(cfg)
	if err != nil {
		return nil, err
	}

	sdkDisabled := cfg.fromFile() && cfg.file.loaded.Disabled || !cfg.fromFile() && sdkDisabledFromEnv(router.warn)
	exporters, names, err := buildExporters(ctx, cfg, sdkDisabled)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func(ctx context.Context) error { shutdownAll(ctx, exporters); return nil })
	if sdkDisabled {
		sampler = sdktrace.NeverSample()
	}
	metrics, err := buildMetrics(ctx, cfg, res, sdkDisabled) // metrics.go
	if err != nil {
		return nil, err
	}
	undo = append(undo, metrics.shutdown)
	logs, err := buildLogs(ctx, cfg, res, sdkDisabled) // logs.go
	if err != nil {
		return nil, err
	}
	undo = append(undo, logs.shutdown)
	// The printer's goroutine starts here, past every step that can fail: from now on only
	// registerHealth can, and it shuts the whole Provider down.
	printer, printerProc := buildWaterfall(cfg, names)

	exportCtx, stopExports := context.WithCancel(context.Background())
	// jaeger_remote polls from here on, reporting to the handler already in place (remotesampling.go)
	sampler, stopSampler := startSampler(sampler, cfg.remoteSampler, res, router.warn)
	for _, wrap := range cfg.wrapSampler {
		if sdkDisabled {
			break // nothing is sampled: a Monitor would count every span as sampled out
		}
		if w := wrap(sampler); w != nil {
			sampler = w
		}
	}
	sampler = keepSampler(sampler, keepOpts, sdkDisabled) // keep.go
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	if cfg.fromFile() {
		tpOpts = append(tpOpts, cfg.file.loaded.TracerProvider...) // the file's span limits
	}
	for _, sp := range cfg.processors {
		if sp != nil {
			tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
		}
	}
	warn := newLossWarner(cfg.lossInterval, cfg.lossSink)
	limit := queueLimit(batchOpts)
	var pipes []*pipeline
	for _, e := range exporters {
		opts := batchOpts
		if e.name == ExporterConsole { // a person is watching: write soon (env and options still win)
			opts = append([]sdktrace.BatchSpanProcessorOption{sdktrace.WithBatchTimeout(ConsoleScheduleDelay)}, batchOpts...)
		}
		pl := &pipeline{name: e.name, batch: batchConfig(opts), limit: limit, warn: warn}
		pl.bsp = sdktrace.NewBatchSpanProcessor(&abortableExporter{SpanExporter: e.SpanExporter, base: exportCtx, pl: pl}, opts...)
		pipes = append(pipes, pl)
	}
	tpOpts, exporting, processors := exportingProcessors(tpOpts, pipes, cfg.exportHolds, cfg.processors) // evidence_install.go
	if printerProc != nil {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(printerProc))
		processors = append(append([]sdktrace.SpanProcessor(nil), processors...), printerProc)
	}
	tpOpts, processors, keepProc := appendKeep(tpOpts, processors, keepOpts, exporting, sdkDisabled) // keep.go
	p := &Provider{
		tp:          sdktrace.NewTracerProvider(tpOpts...),
		propagator:  prop,
		exporters:   names,
		pipelines:   pipes,
		processors:  processors,
		waterfall:   printer,
		stopExports: stopExports,
		stopSampler: stopSampler,
		metrics:     metrics,
		logs:        logs,
	}
	warn.report = func(last error, interval time.Duration) error {
		return &LossWarning{Stats: p.Stats(), Err: last, Interval: interval}
	}
	p.installErrors(cfg, router)
	withMetrics := processorsOf(cfg)
	if keepProc != nil {
		withMetrics = append(withMetrics, keepProc)
	}
	if err = registerHealth(p, withMetrics); err != nil { // health.go
		undo = []func(context.Context) error{p.Shutdown} // the Provider owns everything now
		return nil, err
	}
	if !cfg.noGlobal {
		otel.SetTracerProvider(p.tp)
		if metrics.off {
			otel.SetMeterProvider(noop.NewMeterProvider()) // nothing could ever read what it records
		} else {
			otel.SetMeterProvider(metrics.mp)
		}
		otel.SetTextMapPropagator(prop)
	}
	return p, nil
}

func buildResource(ctx context.Context, cfg config) (*resource.Resource, error) {
	ropts := []resource.Option{
		resource.WithService(), // unknown_service:<executable>, overridden below
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithAttributes(cfg.resourceAttrs...),
	}
	if !cfg.fromFile() { // OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, under the options
		ropts = slices.Insert(ropts, len(ropts)-1, resource.WithFromEnv())
	}
	if cfg.serviceName != "" {
		ropts = append(ropts, resource.WithAttributes(attribute.String("service.name", cfg.serviceName)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil {
		if errors.Is(err, resource.ErrPartialResource) && getenv("OTEL_RESOURCE_ATTRIBUTES") != "" {
			return nil, configErr("OTEL_RESOURCE_ATTRIBUTES=%q: want key=value pairs separated by commas, "+
				"values percent-encoded (%v)", os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), err)
		}
		return nil, err
	}
	return res, nil
}

func buildPropagator(cfg config) (propagation.TextMapPropagator, error) {
	if len(cfg.propagators) > 0 {
		return propagation.NewCompositeTextMapPropagator(cfg.propagators...), nil
	}
	return propagatorsFromEnv()
}

// exporterNames decides which exporters run: options, then OTEL_TRACES_EXPORTER, then an OTLP
// endpoint in the environment, then console.
func exporterNames(cfg config) (names []string, source string) {
	switch {
	case len(cfg.exporterNames) > 0:
		return cfg.exporterNames, "ctxtrail.WithExporterName"
	case len(cfg.exporters) > 0:
		return nil, ""
	}
	if names := splitList(getenv("OTEL_TRACES_EXPORTER")); len(names) > 0 {
		return names, "OTEL_TRACES_EXPORTER"
	}
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		return []string{ExporterOTLP}, "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	return []string{ExporterConsole}, "default"
}

// namedExporter is one exporter Install sends spans to, with the name that decides its batch
// settings (ExporterConsole writes soon).
type namedExporter struct {
	name string
	sdktrace.SpanExporter
}

// buildExporters makes the exporters the names choose, each paired with its own name, and
// returns beside them every name in use, in order, for Provider.Exporters: ExporterWaterfall
// is among the names but has no exporter (buildWaterfall makes its span processor).
func buildExporters(ctx context.Context, cfg config, disabled bool) ([]namedExporter, []string, error) {
	names, source := exporterNames(cfg)
	var (
		out  []namedExporter
		used []string
	)
	for _, e := range cfg.exporters {
		if e.v != nil {
			out = append(out, namedExporter{e.name, e.v})
			used = append(used, e.name)
		}
	}
	for _, name := range names {
		var (
			e   sdktrace.SpanExporter
			err error
		)
		switch name {
		case ExporterNone:
			continue
		case ExporterConsole, "logging", "stdout":
			e, err = consoleExporter(cfg)
			name = ExporterConsole
		case ExporterOTLP:
			e, err = otlpExporter(ctx, cfg)
		case ExporterWaterfall: // a span processor, not an exporter: buildWaterfall makes it
			used = append(used, name)
			continue
		default:
			err = unknownExporterErr(source, name)
		}
		if err != nil {
			shutdownAll(ctx, out)
			return nil, nil, err
		}
		out = append(out, namedExporter{name, e})
		used = append(used, name)
	}
	if disabled { // OTEL_SDK_DISABLED: configuration is still checked above, nothing is exported
		shutdownAll(ctx, out)
		return nil, nil, nil
	}
	return out, used, nil
}

// buildWaterfall returns the waterfall Printer when names choose it, and the span processor
// to register: the Printer itself when Install made it, or a wrapper whose Shutdown only
// flushes when the Printer is the caller's (it may serve other Providers still running).
func buildWaterfall(cfg config, names []string) (*waterfall.Printer, sdktrace.SpanProcessor) {
	want := false
	for _, n := range names {
		want = want || n == ExporterWaterfall
	}
	if !want {
		return nil, nil
	}
	if cfg.waterfall != nil {
		return cfg.waterfall, sharedPrinter{cfg.waterfall}
	}
	w := cfg.writer
	if w == nil {
		w = os.Stdout
	}
	p := waterfall.New(w)
	return p, p
}

// sharedPrinter registers a caller's Printer: the Provider's Shutdown flushes it and leaves it
// running.
type sharedPrinter struct{ *waterfall.Printer }

func (s sharedPrinter) Shutdown(ctx context.Context) error {
	if err := s.ForceFlush(ctx); err != nil && !errors.Is(err, waterfall.ErrShutdown) {
		return err
	}
	return nil
}

// stopAll stops what a failing Install made, last made first, within a deadline of its own:
// the caller's context may be the reason Install failed.
func stopAll(ctx context.Context, undo []func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for i := len(undo) - 1; i >= 0; i-- {
		_ = undo[i](ctx)
	}
}

func shutdownAll(ctx context.Context, es []namedExporter) {
	for _, e := range es {
		_ = e.Shutdown(ctx)
	}
}

func consoleExporter(cfg config) (sdktrace.SpanExporter, error) {
	w := cfg.writer
	if w == nil {
		w = os.Stdout
	}
	opts := []stdouttrace.Option{stdouttrace.WithWriter(w)}
	if cfg.pretty {
		opts = append(opts, stdouttrace.WithPrettyPrint())
	}
	return stdouttrace.New(opts...)
}

func otlpExporter(ctx context.Context, cfg config) (sdktrace.SpanExporter, error) {
	protocol, endpoint, err := otlpTarget(cfg, "TRACES", false)
	if err != nil {
		return nil, err
	}
	if protocol == ProtocolGRPC {
		var opts []otlptracegrpc.Option
		if endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(withSignalPath(endpoint, "/v1/traces")))
	}
	return otlptracehttp.New(ctx, opts...)
}

// otlpTarget reads one signal's OTLP protocol and endpoint, for the traces, metrics and logs
// exporters alike; signal is TRACES, METRICS or LOGS. The protocol is WithOTLPProtocol's, else
// OTEL_EXPORTER_OTLP_<signal>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.
// The endpoint returned is WithOTLP's, or "" when the exporter is to read
// OTEL_EXPORTER_OTLP_<signal>_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT itself; with signalEnvWins
// the signal's own variable wins over WithOTLP. Every endpoint that will be used is checked
// here: the exporters drop a malformed one with only a log line.
func otlpTarget(cfg config, signal string, signalEnvWins bool) (protocol, endpoint string, err error) {
	protocol = strings.ToLower(cfg.otlpProtocol)
	source := "ctxtrail.WithOTLPProtocol"
	if protocol == "" {
		source = "OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL"
		if protocol = strings.ToLower(getenv(source)); protocol == "" {
			source = "OTEL_EXPORTER_OTLP_PROTOCOL"
			protocol = strings.ToLower(getenv(source))
		}
	}
	if protocol == "" {
		protocol = ProtocolHTTPProtobuf
	}
	switch protocol {
	case ProtocolHTTPProtobuf, ProtocolGRPC:
	case "http/json":
		return "", "", configErr("%s=%q: the Go OTLP exporter does not speak http/json; use http/protobuf or grpc", source, protocol)
	default:
		return "", "", configErr("%s=%q: want http/protobuf or grpc", source, protocol)
	}

	endpoint = cfg.otlpEndpoint
	signalKey := "OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT"
	if endpoint != "" && signalEnvWins && getenv(signalKey) != "" {
		endpoint = ""
	}
	if endpoint != "" {
		if _, err := checkEndpointFor(protocol, "ctxtrail.WithOTLP", endpoint); err != nil {
			return "", "", err
		}
		return protocol, endpoint, nil
	}
	for _, key := range []string{signalKey, "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if v := getenv(key); v != "" {
			if _, err := checkEndpointFor(protocol, key, v); err != nil {
				return "", "", err
			}
			break
		}
	}
	return protocol, "", nil
}

// withSignalPath adds path (/v1/traces, /v1/metrics, /v1/logs) to a base URL that has none, as
// the OTLP spec does for OTEL_EXPORTER_OTLP_ENDPOINT.
func withSignalPath(endpoint, path string) string {
	u, err := checkEndpoint("", endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return endpoint
	}
	u.Path = path
	return u.String()
}

// abortableExporter gives every export a context that Shutdown can cancel, so a collector that
// hangs cannot keep the batch processor's goroutine alive past Shutdown's deadline. It also
// counts what each export carried for its pipeline, and keeps export errors from the batch
// processor, which would report every failed batch through otel.Handle: the pipeline reports
// them at most once per interval instead, and ForceFlush and Shutdown return them.
type abortableExporter struct {
	sdktrace.SpanExporter
	base context.Context
	pl   *pipeline
}

func (e *abortableExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := exportAbortable(ctx, e.base, func(ctx context.Context) error { return e.SpanExporter.ExportSpans(ctx, spans) })
	e.pl.exported(len(spans), err)
	return nil
}

// exportAbortable runs one export, of any signal, with a context that base's end (Shutdown's
// deadline) cancels too; once base has ended it does not start the export.
func exportAbortable(ctx, base context.Context, export func(context.Context) error) error {
	if err := base.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(base, cancel)
	err := export(ctx)
	stop()
	cancel()
	return err
}

// ErrSpansLost is wrapped by the warnings and errors that report spans which never reached the
// collector: refused because the export queue was full, or carried by an export that failed.
var ErrSpansLost = errors.New("ctxtrail: spans lost")

// Stats counts what happened to the spans handed to Install's exporters. Unsampled spans are
// not counted: they were never meant to leave the process. With several exporters each span is
// counted once per exporter.
//
// Ended == Exported + Dropped + Failed + Queued, up to the spans moving while Stats reads the
// counters. After Shutdown has returned, Queued counts spans that never left the process.
type Stats struct {
	Ended         uint64 // sampled spans that ended and were offered to an exporter
	Exported      uint64 // spans the exporter accepted
	Dropped       uint64 // spans refused because the export queue was full
	Failed        uint64 // spans carried by exports that returned an error
	FailedExports uint64 // exports that returned an error
	Queued        uint64 // spans waiting in the queue or being exported now
}

// Lost returns how many spans will never reach the collector: Dropped + Failed.
func (s Stats) Lost() uint64 { return s.Dropped + s.Failed }

// LossWarning is what Install reports, at most once per interval (see WithLossWarnings), when
// spans are dropped or an export fails. It wraps ErrSpansLost and the last export error.
type LossWarning struct {
	Stats    Stats         // the counters when the warning was made
	Err      error         // the last export error, or nil if spans were only dropped
	Interval time.Duration // at most one warning per Interval
}

// Error describes the loss on one line.
func (w *LossWarning) Error() string {
	msg := fmt.Sprintf("%v: %d dropped (export queue full), %d in %d failed exports, of %d ended; at most one report per %v",
		ErrSpansLost, w.Stats.Dropped, w.Stats.Failed, w.Stats.FailedExports, w.Stats.Ended, w.Interval)
	if w.Err != nil {
		msg += "; last export error: " + w.Err.Error()
	}
	return msg
}

// Unwrap returns ErrSpansLost and the last export error.
func (w *LossWarning) Unwrap() []error {
	if w.Err == nil {
		return []error{ErrSpansLost}
	}
	return []error{ErrSpansLost, w.Err}
}

// lossWarner passes at most one loss warning per interval to its sink, for any signal: report
// makes the signal's warning (a LossWarning for spans, a LogLossWarning for log records) from
// its counters.
type lossWarner struct {
	interval time.Duration
	sink     func(error)
	report   func(last error, interval time.Duration) error // set once the signal's counters exist
	next     atomic.Int64                                   // UnixNano before which losses are only counted
	lastErr  atomic.Pointer[error]
}

func newLossWarner(interval time.Duration, sink func(error)) *lossWarner {
	if interval <= 0 {
		interval = propagators.DefaultWarnInterval
	}
	if sink == nil {
		sink = otel.Handle
	}
	return &lossWarner{interval: interval, sink: sink}
}

func (w *lossWarner) warn(err error) {
	if err != nil {
		w.lastErr.Store(&err)
	}
	now := time.Now().UnixNano()
	next := w.next.Load()
	if now < next || !w.next.CompareAndSwap(next, now+int64(w.interval)) {
		return
	}
	var last error
	if p := w.lastErr.Load(); p != nil {
		last = *p
	}
	w.sink(w.report(last, w.interval))
}

// batchConfig returns the settings a batch span processor built with opts uses.
func batchConfig(opts []sdktrace.BatchSpanProcessorOption) sdktrace.BatchSpanProcessorOptions {
	o := sdktrace.BatchSpanProcessorOptions{
		MaxQueueSize:       sdktrace.DefaultMaxQueueSize,
		BatchTimeout:       sdktrace.DefaultScheduleDelay * time.Millisecond,
		ExportTimeout:      sdktrace.DefaultExportTimeout * time.Millisecond,
		MaxExportBatchSize: sdktrace.DefaultMaxExportBatchSize,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// queueLimit returns how many spans a pipeline lets wait for its exporter, as the batch span
// processor will be configured by opts, or 0 when the processor blocks on a full queue.
func queueLimit(opts []sdktrace.BatchSpanProcessorOption) int64 {
	o := batchConfig(opts)
	if o.BlockOnQueueFull {
		return 0
	}
	return int64(max(o.MaxQueueSize, 1))
}

// pipeline is the span processor Install registers for each exporter: it counts every sampled
// span and passes it to the SDK's batch span processor, unless that span would overflow the
// queue. The batch processor drops silently when its queue is full; the pipeline makes sure it
// never is, by refusing (and counting) a span when the spans it has handed over and the exporter
// has not yet seen, plus any ForceFlush markers in flight, would exceed the queue size. So every
// drop is counted here, the request path still never waits, and memory stays bounded by the
// queue size. (The bound covers spans queued, batched and being exported, so it is a little
// tighter than the SDK's own, which counts only the queue.)
type pipeline struct {
	name  string                             // the exporter's (ExporterConsole, ExporterOTLP, "custom")
	batch sdktrace.BatchSpanProcessorOptions // what bsp was built with, for tests
	bsp   sdktrace.SpanProcessor
	limit int64 // 0: the batch processor blocks on a full queue, nothing is refused here
	warn  *lossWarner

	ended, exportedN, dropped, failed, failedExports atomic.Uint64
	pending                                          atomic.Int64 // handed to bsp, not yet exported
	flushing                                         atomic.Int64 // ForceFlush markers in bsp's queue
	stopped                                          atomic.Bool
}

var _ sdktrace.SpanProcessor = (*pipeline)(nil)

func (p *pipeline) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	p.bsp.OnStart(parent, s)
}

func (p *pipeline) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.ended.Add(1)
	if p.stopped.Load() {
		p.drop()
		return
	}
	if n := p.pending.Add(1); p.limit > 0 && n+p.flushing.Load() > p.limit {
		p.pending.Add(-1)
		p.drop()
		return
	}
	p.bsp.OnEnd(s)
}

func (p *pipeline) drop() {
	p.dropped.Add(1)
	p.warn.warn(nil)
}

// exported counts an export of n spans that returned err.
func (p *pipeline) exported(n int, err error) {
	p.pending.Add(-int64(n))
	if err == nil {
		p.exportedN.Add(uint64(n))
		return
	}
	p.failed.Add(uint64(n))
	p.failedExports.Add(1)
	p.warn.warn(err)
}

func (p *pipeline) ForceFlush(ctx context.Context) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	return p.bsp.ForceFlush(ctx)
}

func (p *pipeline) Shutdown(ctx context.Context) error {
	p.stopped.Store(true)
	return p.bsp.Shutdown(ctx)
}

func (p *pipeline) stats() Stats {
	return Stats{
		Ended:         p.ended.Load(),
		Exported:      p.exportedN.Load(),
		Dropped:       p.dropped.Load(),
		Failed:        p.failed.Load(),
		FailedExports: p.failedExports.Load(),
		Queued:        uint64(max(p.pending.Load(), 0)),
	}
}

// Stats returns the span counters of every exporter, summed: how many spans ended, were
// exported, were dropped because the queue was full, or were lost in failed exports. It is
// cheap (a few atomic loads) and safe for concurrent use; a monitor page can poll it.
func (p *Provider) Stats() Stats {
	var s Stats
	for _, pl := range p.pipelines {
		ps := pl.stats()
		s.Ended += ps.Ended
		s.Exported += ps.Exported
		s.Dropped += ps.Dropped
		s.Failed += ps.Failed
		s.FailedExports += ps.FailedExports
		s.Queued += ps.Queued
	}
	return s
}

// lostSince returns an error wrapping ErrSpansLost if exports failed since before was read.
func (p *Provider) lostSince(before Stats) error {
	after := p.Stats()
	if after.FailedExports == before.FailedExports {
		return nil
	}
	var last error
	if len(p.pipelines) > 0 {
		if e := p.pipelines[0].warn.lastErr.Load(); e != nil {
			last = *e
		}
	}
	return fmt.Errorf("%w: %d spans in %d failed exports: %w", ErrSpansLost,
		after.Failed-before.Failed, after.FailedExports-before.FailedExports, last)
}

// TracerProvider returns the SDK tracer provider.
func (p *Provider) TracerProvider() *sdktrace.TracerProvider { return p.tp }

// Tracer returns a tracer of this provider.
func (p *Provider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return p.tp.Tracer(name, opts...)
}

// Propagator returns the composite propagator Install built.
func (p *Provider) Propagator() propagation.TextMapPropagator { return p.propagator }

// Waterfall returns the terminal waterfall Printer when it was chosen (ExporterWaterfall,
// WithWaterfall), or nil. Hand it to zapbridge.WithWaterfall so that each trace prints with its
// log lines; a nil Printer there does nothing.
func (p *Provider) Waterfall() *waterfall.Printer { return p.waterfall }

// Exporters returns the names of the exporters in use ("console", "otlp", "ctxtrail-waterfall",
// and "custom" for WithExporter's; a configuration file's are named for what they are).
func (p *Provider) Exporters() []string { return append([]string(nil), p.exporters...) }

// ForceFlush exports every span ended so far. If an export fails meanwhile, the error wraps
// ErrSpansLost and the exporter's error.
func (p *Provider) ForceFlush(ctx context.Context) error {
	before := p.Stats()
	logsErr := p.logs.forceFlush(ctx)
	if err := errors.Join(p.tp.ForceFlush(ctx), p.metrics.flush(ctx)); err != nil {
		return errors.Join(err, logsErr)
	}
	return errors.Join(p.lostSince(before), logsErr)
}

// Shutdown flushes every ended span and stops the processors and exporters. It returns by ctx's
// deadline even when a collector hangs: exports still running then are aborted, and what they
// carried is lost (the error says so). An export that fails while Shutdown flushes makes the
// error wrap ErrSpansLost; Stats tells how many spans were lost. Later calls return the first
// call's result.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.once.Do(func() {
		logsDone := make(chan error, 1) // both signals flush at once, each by ctx's deadline
		go func() { logsDone <- p.logs.shutdown(ctx) }()
		before := p.Stats()
		err := p.tp.Shutdown(ctx)
		p.stopExports()
		if p.stopSampler != nil {
			p.stopSampler()
		}
		if err != nil {
			// The SDK skips the processors left once ctx has ended, and a batch processor
			// never shut down keeps its goroutine for good: stop ours now. Exports are aborted
			// above, so they return at once.
			for _, pl := range p.pipelines {
				_ = pl.Shutdown(ctx)
			}
			// The same holds for the processors given with WithSpanProcessor (a Monitor with a
			// leak callback runs a goroutine). Shutting a processor down twice is allowed.
			for _, sp := range p.processors {
				if sp != nil {
					_ = sp.Shutdown(ctx)
				}
			}
		}
		p.err = errors.Join(err, p.lostSince(before), p.metrics.shutdown(ctx), <-logsDone)
		p.unregisterMetrics()
		p.flushWarnings()
	})
	return p.err
}

// LogFields gives the warning as a log message and fields (otelctx.ErrorFields).
func (w *LossWarning) LogFields() (string, []attribute.KeyValue) {
	fields := []attribute.KeyValue{
		attribute.Int64("ended", int64(w.Stats.Ended)), attribute.Int64("exported", int64(w.Stats.Exported)),
		attribute.Int64("dropped", int64(w.Stats.Dropped)), attribute.Int64("failed", int64(w.Stats.Failed)),
		attribute.Int64("failed_exports", int64(w.Stats.FailedExports)), attribute.Int64("queued", int64(w.Stats.Queued)),
	}
	if w.Err != nil {
		fields = append(fields, attribute.String("error", w.Err.Error()))
	}
	return "spans lost", fields
}
