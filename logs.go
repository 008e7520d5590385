package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/embedded"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// This file is the OpenTelemetry logs signal: where log records go once a bridge (zapbridge,
// slogbridge, or any OpenTelemetry log bridge using the global LoggerProvider) emits them.
//
// The exporter is chosen from the options (WithLogExporter, WithLogExporterName, WithoutLogs),
// then OTEL_LOGS_EXPORTER, then OTLP when OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set, and otherwise
// none, as for metrics. An OTEL_EXPORTER_OTLP_ENDPOINT (or WithOTLP) alone does not turn logs on:
// the collector most set-ups point it at, a stock Jaeger, takes traces only and answers a logs
// export with 404, so every record would be counted lost. The lines are already written by the
// service's own zap core or slog handler, so a console default would only double the output,
// and the spec's default (OTLP to localhost) would fail in every program run without a
// collector. Once OTLP is chosen by name, records go where spans go (WithOTLP,
// OTEL_EXPORTER_OTLP_ENDPOINT) unless OTEL_EXPORTER_OTLP_LOGS_ENDPOINT says otherwise.

// DefaultLogBatch is the batch log record processor's configuration when neither an option nor
// the OTEL_BLRP_* variables say otherwise: the SDK's defaults.
var DefaultLogBatch = LogBatch{
	QueueSize: 2048,
	BatchSize: 512,
	Interval:  time.Second,
	Timeout:   30 * time.Second,
}

// LogBatch configures the batch log record processor. A zero field is unset: the
// OTEL_BLRP_* variable, then DefaultLogBatch, decide it.
type LogBatch struct {
	QueueSize int           // records waiting for the exporter; past it new records are dropped and counted
	BatchSize int           // records per export, at most QueueSize
	Interval  time.Duration // longest wait before a partial batch is exported
	Timeout   time.Duration // longest one export may take
}

type logsConfig struct {
	exporterNames []string
	exporters     []labelled[sdklog.Exporter] // WithLogExporter ("custom") and a file's, by name
	batch         LogBatch
}

// WithLogExporter sends log records to e through a batch processor. Any log exporter option
// makes Install ignore OTEL_LOGS_EXPORTER.
func WithLogExporter(e sdklog.Exporter) Option {
	return optionFunc(func(c config) config {
		c.logs.exporters = appendLabelled(c.logs.exporters, exporterCustom, e)
		return c
	})
}

// WithLogExporterName chooses log exporters by name (ExporterConsole, ExporterOTLP,
// ExporterNone), as OTEL_LOGS_EXPORTER would, and wins over it. OTLP goes where traces go
// (WithOTLP, WithOTLPProtocol) unless the OTEL_EXPORTER_OTLP_LOGS_* variables say otherwise.
func WithLogExporterName(names ...string) Option {
	return optionFunc(func(c config) config {
		c.logs.exporterNames = append(append([]string(nil), c.logs.exporterNames...), names...)
		return c
	})
}

// WithoutLogs exports no log records: the bridges' OpenTelemetry option then costs nothing.
func WithoutLogs() Option { return WithLogExporterName(ExporterNone) }

// WithLogBatch configures the batch log record processor; its set fields win over the
// OTEL_BLRP_* variables.
func WithLogBatch(b LogBatch) Option {
	return optionFunc(func(c config) config {
		if b.QueueSize > 0 {
			c.logs.batch.QueueSize = b.QueueSize
		}
		if b.BatchSize > 0 {
			c.logs.batch.BatchSize = b.BatchSize
		}
		if b.Interval > 0 {
			c.logs.batch.Interval = b.Interval
		}
		if b.Timeout > 0 {
			c.logs.batch.Timeout = b.Timeout
		}
		return c
	})
}

// logsSignal is the logs half of a Provider.
type logsSignal struct {
	lp        *sdklog.LoggerProvider
	unique    *sdklog.LoggerProvider // lp's processors without the duplicate-key check; nil with no exporter
	public    *countingProvider
	closed    atomic.Bool   // Shutdown has begun
	late      atomic.Uint64 // records emitted after Shutdown began
	exporters []string
	pipelines []*logPipeline
	stop      context.CancelFunc // aborts exports still running when Shutdown's ctx ends
}

// buildLogs builds the LoggerProvider from cfg and the environment. Nothing is started before
// every setting has been checked.
func buildLogs(ctx context.Context, cfg config, res *resource.Resource, disabled bool) (*logsSignal, error) {
	batch, err := logBatchFromEnv(cfg.logs.batch, cfg.fromFile())
	if err != nil {
		return nil, err
	}
	exporters, names, err := buildLogExporters(ctx, cfg, disabled)
	if err != nil {
		return nil, err
	}
	exportCtx, stop := context.WithCancel(context.Background())
	warn := newLossWarner(cfg.lossInterval, cfg.lossSink)
	s := &logsSignal{exporters: names, stop: stop}
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	if cfg.fromFile() {
		opts = append(opts, cfg.file.loaded.LoggerProvider...) // the file's record limits
	}
	for _, e := range exporters {
		pl := &logPipeline{limit: int64(batch.QueueSize), warn: warn}
		pl.bp = sdklog.NewBatchProcessor(&abortableLogExporter{Exporter: e, base: exportCtx, pl: pl},
			sdklog.WithMaxQueueSize(batch.QueueSize),
			sdklog.WithExportMaxBatchSize(batch.BatchSize),
			sdklog.WithExportInterval(batch.Interval),
			sdklog.WithExportTimeout(batch.Timeout),
		)
		s.pipelines = append(s.pipelines, pl)
		opts = append(opts, sdklog.WithProcessor(pl))
	}
	s.lp = sdklog.NewLoggerProvider(opts...)
	if len(s.pipelines) > 0 {
		// For ctxtrail's bridges, which hand it only records whose keys they have checked to be
		// unique (logctx.UniqueKeys): the same pipelines, the SDK's per-attribute map skipped.
		uopts := []sdklog.LoggerProviderOption{sdklog.WithResource(res), sdklog.WithAllowKeyDuplication()}
		for _, pl := range s.pipelines {
			uopts = append(uopts, sdklog.WithProcessor(sharedPipeline{pl}))
		}
		s.unique = sdklog.NewLoggerProvider(uopts...)
	}
	s.public = &countingProvider{s: s}
	warn.report = func(last error, interval time.Duration) error {
		return &LogLossWarning{Stats: s.stats(), Err: last, Interval: interval}
	}
	if !cfg.noGlobal {
		global.SetLoggerProvider(s.public)
	}
	return s, nil
}

// logBatchFromEnv fills b's unset fields from the OTEL_BLRP_* variables, then the defaults. A
// bad value is an error, where the SDK would ignore it silently.
func logBatchFromEnv(b LogBatch, fromFile bool) (LogBatch, error) {
	num := func(key string) (int, error) {
		s := getenv(key)
		if s == "" || fromFile { // a configuration file replaces the variables (configfile.go)
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, configErr("%s=%q: want a positive whole number", key, s)
		}
		return n, nil
	}
	queue, err := num("OTEL_BLRP_MAX_QUEUE_SIZE")
	if err != nil {
		return b, err
	}
	batch, err := num("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE")
	if err != nil {
		return b, err
	}
	delay, err := num("OTEL_BLRP_SCHEDULE_DELAY")
	if err != nil {
		return b, err
	}
	timeout, err := num("OTEL_BLRP_EXPORT_TIMEOUT")
	if err != nil {
		return b, err
	}
	if b.QueueSize == 0 {
		b.QueueSize = queue
	}
	if b.BatchSize == 0 {
		b.BatchSize = batch
	}
	if b.Interval == 0 {
		b.Interval = time.Duration(delay) * time.Millisecond
	}
	if b.Timeout == 0 {
		b.Timeout = time.Duration(timeout) * time.Millisecond
	}
	if queue > 0 && batch > 0 && batch > queue {
		return b, configErr("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=%d is larger than OTEL_BLRP_MAX_QUEUE_SIZE=%d", batch, queue)
	}
	if b.QueueSize == 0 {
		b.QueueSize = DefaultLogBatch.QueueSize
	}
	if b.BatchSize == 0 {
		b.BatchSize = min(DefaultLogBatch.BatchSize, b.QueueSize)
	}
	if b.BatchSize > b.QueueSize {
		return b, configErr("log batch size %d is larger than the log queue size %d "+
			"(ctxtrail.WithLogBatch or OTEL_BLRP_MAX_EXPORT_BATCH_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE)", b.BatchSize, b.QueueSize)
	}
	if b.Interval == 0 {
		b.Interval = DefaultLogBatch.Interval
	}
	if b.Timeout == 0 {
		b.Timeout = DefaultLogBatch.Timeout
	}
	return b, nil
}

// logExporterNames decides which log exporters run: options, then OTEL_LOGS_EXPORTER, then OTLP
// when OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set, then none (see the top of this file for why the
// shared endpoint alone is not enough).
func logExporterNames(cfg config) (names []string, source string) {
	switch {
	case len(cfg.logs.exporterNames) > 0:
		return cfg.logs.exporterNames, "ctxtrail.WithLogExporterName"
	case len(cfg.logs.exporters) > 0:
		return nil, ""
	}
	if names := splitList(getenv("OTEL_LOGS_EXPORTER")); len(names) > 0 {
		return names, "OTEL_LOGS_EXPORTER"
	}
	if getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") != "" {
		return []string{ExporterOTLP}, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
	}
	return nil, "default"
}

func buildLogExporters(ctx context.Context, cfg config, disabled bool) ([]sdklog.Exporter, []string, error) {
	names, source := logExporterNames(cfg)
	var (
		out  []sdklog.Exporter
		used []string
	)
	shutdown := func() {
		for _, e := range out {
			_ = e.Shutdown(ctx)
		}
	}
	for _, e := range cfg.logs.exporters {
		if e.v != nil {
			out = append(out, e.v)
			used = append(used, e.name)
		}
	}
	for _, name := range names {
		var (
			e   sdklog.Exporter
			err error
		)
		switch name {
		case ExporterNone:
			continue
		case ExporterConsole, "logging", "stdout":
			e, err = consoleLogExporter(cfg)
			name = ExporterConsole
		case ExporterOTLP:
			e, err = otlpLogExporter(ctx, cfg)
		default:
			err = configErr("%s names log exporter %q: want console, otlp or none", source, name)
		}
		if err != nil {
			shutdown()
			return nil, nil, err
		}
		out = append(out, e)
		used = append(used, name)
	}
	if disabled {
		shutdown()
		return nil, nil, nil
	}
	return out, used, nil
}

func consoleLogExporter(cfg config) (sdklog.Exporter, error) {
	w := cfg.writer
	if w == nil {
		w = os.Stdout
	}
	opts := []stdoutlog.Option{stdoutlog.WithWriter(w)}
	if cfg.pretty {
		opts = append(opts, stdoutlog.WithPrettyPrint())
	}
	return stdoutlog.New(opts...)
}

func otlpLogExporter(ctx context.Context, cfg config) (sdklog.Exporter, error) {
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT wins over WithOTLP: that option is the spans' endpoint,
	// which log records follow only when nothing says where logs go.
	protocol, endpoint, err := otlpTarget(cfg, "LOGS", true)
	if err != nil {
		return nil, err
	}
	if protocol == ProtocolGRPC {
		var opts []otlploggrpc.Option
		if endpoint != "" {
			opts = append(opts, otlploggrpc.WithEndpointURL(endpoint))
		}
		return otlploggrpc.New(ctx, opts...)
	}
	var opts []otlploghttp.Option
	if endpoint != "" {
		opts = append(opts, otlploghttp.WithEndpointURL(withSignalPath(endpoint, "/v1/logs")))
	}
	return otlploghttp.New(ctx, opts...)
}

// ErrLogsLost is wrapped by the warnings and errors that report log records which never
// reached the collector: refused because the export queue was full or the Provider was shut
// down, or carried by an export that failed.
var ErrLogsLost = errors.New("ctxtrail: log records lost")

// LogStats counts what happened to the log records handed to Install's log exporters. With
// several exporters each record is counted once per exporter.
//
// Emitted == Exported + Dropped + Failed + Queued, up to the records moving while LogStats reads
// the counters.
type LogStats struct {
	Emitted       uint64 // records emitted to an exporter's pipeline
	Exported      uint64 // records the exporter accepted
	Dropped       uint64 // records refused: the export queue was full, or the Provider shut down
	Failed        uint64 // records carried by exports that returned an error
	FailedExports uint64 // exports that returned an error
	Queued        uint64 // records waiting in the queue or being exported now
}

// Lost returns how many records will never reach the collector: Dropped + Failed.
func (s LogStats) Lost() uint64 { return s.Dropped + s.Failed }

// LogLossWarning is what Install reports, at most once per interval (WithLossWarnings, shared
// with spans), when log records are dropped or an export fails. It wraps ErrLogsLost and the
// last export error.
type LogLossWarning struct {
	Stats    LogStats
	Err      error
	Interval time.Duration
}

// Error describes the loss on one line.
func (w *LogLossWarning) Error() string {
	msg := fmt.Sprintf("%v: %d dropped (export queue full or provider shut down), %d in %d failed exports, of %d emitted; at most one report per %v",
		ErrLogsLost, w.Stats.Dropped, w.Stats.Failed, w.Stats.FailedExports, w.Stats.Emitted, w.Interval)
	if w.Err != nil {
		msg += "; last export error: " + w.Err.Error()
	}
	return msg
}

// Unwrap returns ErrLogsLost and the last export error.
func (w *LogLossWarning) Unwrap() []error {
	if w.Err == nil {
		return []error{ErrLogsLost}
	}
	return []error{ErrLogsLost, w.Err}
}

// logPipeline is the processor Install registers for each log exporter: it counts every record
// and passes it to the SDK's batch processor unless that would overflow the queue. The SDK's
// batch processor drops the oldest record when its queue is full, and says so only through a
// global warning; the pipeline refuses (and counts) the new record before that can happen, so
// every loss is counted, the logging goroutine never waits, and memory stays bounded by the
// queue size.
type logPipeline struct {
	bp    *sdklog.BatchProcessor
	limit int64
	warn  *lossWarner

	emitted, exportedN, dropped, failed, failedExports atomic.Uint64
	pending                                            atomic.Int64
	stopped                                            atomic.Bool
}

var _ sdklog.Processor = (*logPipeline)(nil)

func (p *logPipeline) Enabled(context.Context, sdklog.EnabledParameters) bool {
	return !p.stopped.Load()
}

func (p *logPipeline) OnEmit(ctx context.Context, r *sdklog.Record) error {
	p.emitted.Add(1)
	if p.stopped.Load() {
		p.drop()
		return nil
	}
	if n := p.pending.Add(1); n > p.limit {
		p.pending.Add(-1)
		p.drop()
		return nil
	}
	return p.bp.OnEmit(ctx, r)
}

func (p *logPipeline) drop() {
	p.dropped.Add(1)
	p.warn.warn(nil)
}

func (p *logPipeline) exported(n int, err error) {
	p.pending.Add(-int64(n))
	if err == nil {
		p.exportedN.Add(uint64(n))
		return
	}
	p.failed.Add(uint64(n))
	p.failedExports.Add(1)
	p.warn.warn(err)
}

func (p *logPipeline) ForceFlush(ctx context.Context) error { return p.bp.ForceFlush(ctx) }

func (p *logPipeline) Shutdown(ctx context.Context) error {
	p.stopped.Store(true)
	return p.bp.Shutdown(ctx)
}

func (p *logPipeline) stats() LogStats {
	return LogStats{
		Emitted:       p.emitted.Load(),
		Exported:      p.exportedN.Load(),
		Dropped:       p.dropped.Load(),
		Failed:        p.failed.Load(),
		FailedExports: p.failedExports.Load(),
		Queued:        uint64(max(p.pending.Load(), 0)),
	}
}

// sharedPipeline is a pipeline as the second SDK provider (logsSignal.unique) sees it: the
// provider's Shutdown waits for its own emits in flight and leaves the pipeline to lp's.
type sharedPipeline struct{ *logPipeline }

func (sharedPipeline) Shutdown(context.Context) error { return nil }

// abortableLogExporter is abortableExporter for log records: exports Shutdown can cancel,
// counted for its pipeline, errors kept from the SDK's global handler.
type abortableLogExporter struct {
	sdklog.Exporter
	base context.Context
	pl   *logPipeline
}

func (e *abortableLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	err := exportAbortable(ctx, e.base, func(ctx context.Context) error { return e.Exporter.Export(ctx, records) })
	e.pl.exported(len(records), err)
	return nil
}

func (s *logsSignal) stats() LogStats {
	var out LogStats
	if s == nil {
		return out
	}
	late := s.late.Load()
	for _, pl := range s.pipelines {
		ps := pl.stats()
		ps.Emitted += late // counted once per exporter, as every record is
		ps.Dropped += late
		out.Emitted += ps.Emitted
		out.Exported += ps.Exported
		out.Dropped += ps.Dropped
		out.Failed += ps.Failed
		out.FailedExports += ps.FailedExports
		out.Queued += ps.Queued
	}
	return out
}

// lostSince returns an error wrapping ErrLogsLost if exports failed since before was read.
func (s *logsSignal) lostSince(before LogStats) error {
	after := s.stats()
	if after.FailedExports == before.FailedExports {
		return nil
	}
	var last error
	if len(s.pipelines) > 0 {
		if e := s.pipelines[0].warn.lastErr.Load(); e != nil {
			last = *e
		}
	}
	return fmt.Errorf("%w: %d records in %d failed exports: %w", ErrLogsLost,
		after.Failed-before.Failed, after.FailedExports-before.FailedExports, last)
}

func (s *logsSignal) forceFlush(ctx context.Context) error {
	if s == nil {
		return nil
	}
	before := s.stats()
	if err := s.lp.ForceFlush(ctx); err != nil {
		return err
	}
	return s.lostSince(before)
}

// shutdown flushes and stops the logs pipelines by ctx's deadline: exports still running then
// are aborted, and the batch processors' goroutines stop.
func (s *logsSignal) shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	before := s.stats()
	// Close the door first, so that a record emitted from now on is counted as dropped: the SDK
	// provider, once shut down, would swallow it without a count.
	s.closed.Store(true)
	var uerr error
	if s.unique != nil {
		// Waits for the records being emitted through it, so none reaches a stopped pipeline.
		uerr = s.unique.Shutdown(ctx)
	}
	err := s.lp.Shutdown(ctx)
	if err == nil {
		err = uerr
	}
	s.stop()
	if err != nil {
		// The SDK may skip processors once ctx has ended; a batch processor never shut down
		// keeps its goroutine. Exports are aborted above, so this returns at once.
		for _, pl := range s.pipelines {
			_ = pl.bp.Shutdown(context.Background())
		}
	}
	return errors.Join(err, s.lostSince(before))
}

// LoggerProvider returns the logger provider: give it to zapbridge.WithLoggerProvider or
// slogbridge.WithLoggerProvider, or to any OpenTelemetry log bridge. It is the SDK's provider
// behind a thin layer that counts records emitted after Shutdown as dropped (the SDK would
// swallow them without a count). Install also sets it as the global logger provider unless
// WithoutGlobal. zapbridge and slogbridge also reach, through it, a second SDK provider over the
// same pipelines that skips the SDK's duplicate-key check; they use it only for records whose
// keys they have found unique, so what is exported is the same, for about a sixth less of the
// SDK's Emit.
func (p *Provider) LoggerProvider() log.LoggerProvider { return p.logs.public }

// SDKLoggerProvider returns the SDK logger provider itself.
func (p *Provider) SDKLoggerProvider() *sdklog.LoggerProvider { return p.logs.lp }

// LogExporters returns the names of the log exporters in use ("console", "otlp", "custom" for
// WithLogExporter's); none means log records are not exported.
func (p *Provider) LogExporters() []string { return append([]string(nil), p.logs.exporters...) }

// LogsEnabled reports whether log records go anywhere: the bridges emit nothing when they do not.
func (p *Provider) LogsEnabled() bool { return len(p.logs.pipelines) > 0 }

// LogStats returns the log record counters of every log exporter, summed, as Stats does for
// spans. Records emitted after Shutdown are counted as emitted and dropped.
func (p *Provider) LogStats() LogStats { return p.logs.stats() }

// countingProvider hands out loggers that count records emitted after Shutdown.
type countingProvider struct {
	embedded.LoggerProvider
	s *logsSignal
}

func (c *countingProvider) Logger(name string, opts ...log.LoggerOption) log.Logger {
	return &countingLogger{inner: c.s.lp.Logger(name, opts...), s: c.s}
}

// UniqueKeysLogger is Logger for ctxtrail's bridges (logctx.UniqueKeysProvider): records go to
// the same pipelines through an SDK provider that skips the duplicate-key check, so the caller
// must hand it only records whose attribute keys are unique.
func (c *countingProvider) UniqueKeysLogger(name string, opts ...log.LoggerOption) log.Logger {
	if c.s.unique == nil {
		return c.Logger(name, opts...)
	}
	return &countingLogger{inner: c.s.unique.Logger(name, opts...), s: c.s}
}

type countingLogger struct {
	embedded.Logger
	inner log.Logger
	s     *logsSignal
}

func (l *countingLogger) Emit(ctx context.Context, r log.Record) {
	if l.s.closed.Load() {
		if len(l.s.pipelines) > 0 {
			l.s.late.Add(1)
			l.s.pipelines[0].warn.warn(nil)
		}
		return
	}
	l.inner.Emit(ctx, r)
}

// Enabled stays true after Shutdown, so that a bridge's late records reach Emit and are counted.
func (l *countingLogger) Enabled(ctx context.Context, param log.EnabledParameters) bool {
	if l.s.closed.Load() {
		return len(l.s.pipelines) > 0
	}
	return l.inner.Enabled(ctx, param)
}

// LogFields gives the warning as a log message and fields (otelctx.ErrorFields).
func (w *LogLossWarning) LogFields() (string, []attribute.KeyValue) {
	return "log records lost", []attribute.KeyValue{attribute.String("detail", w.Error())}
}
