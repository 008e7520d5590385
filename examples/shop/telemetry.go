package shop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailzap"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Telemetry is one service's ctxtrail: its tracer provider, live span monitor and logger.
type Telemetry struct {
	Service  string
	Provider *ctxtrail.Provider
	Monitor  *spans.Monitor
	Log      *zapbridge.Logger // orders and payments log with zap
	Slog     *slog.Logger      // the frontend logs with log/slog: the same keys on every line
	Reports  *trailzap.LogSink // error reports with breadcrumbs, one log line each
}

// NewTelemetry installs ctxtrail for one service. Logs are JSON lines on logs; opts go to
// ctxtrail.Install (an exporter, WithoutGlobal for several services in one process, …).
func NewTelemetry(ctx context.Context, service string, logs io.Writer, opts ...ctxtrail.Option) (*Telemetry, error) {
	mon := spans.NewMonitor(spans.WithLeakThreshold(30 * time.Second))
	// The monitor counts what the sampler drops, whichever OTEL_TRACES_SAMPLER chooses, Jaeger's
	// remote sampler included: the shop is the service OPERATIONS.md runs under it.
	opts = append([]ctxtrail.Option{ctxtrail.WithServiceName(service), ctxtrail.WithSpanProcessor(mon),
		ctxtrail.WithSamplerWrapper(mon.Sampler), jaegerremote.Enable()}, opts...)
	p, err := ctxtrail.Install(ctx, opts...)
	if err != nil {
		_ = mon.Shutdown(ctx)
		return nil, err
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	logs = lockedWriter(logs) // one lock for both loggers' lines
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(logs), zap.InfoLevel)
	zl := zap.New(core).With(zap.String("service", service))
	// Both loggers: warnings and errors become span events, error lines leave a breadcrumb, and
	// every line is also an OpenTelemetry log record when Install has a log exporter
	// (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or OTEL_LOGS_EXPORTER); otherwise the option costs nothing.
	sh := slogbridge.NewHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{ReplaceAttr: zapStyle}),
		slogbridge.WithSpanEvents(slog.LevelWarn), slogbridge.WithErrorHook(trail.SlogBreadcrumb),
		slogbridge.WithLoggerProvider(p.LoggerProvider()), slogbridge.WithWaterfall(p.Waterfall()))
	reports := trailzap.NewLogSink(zl.Named("report"))
	// Dropped breadcrumbs and reports as metrics, next to Install's own health metrics.
	if _, err := trail.RegisterMetrics(p.MeterProvider(), reports); err != nil {
		_ = reports.Shutdown(ctx)
		_ = p.Shutdown(ctx)
		return nil, err
	}
	return &Telemetry{
		Service:  service,
		Provider: p,
		Monitor:  mon,
		// With the terminal waterfall chosen, each request's lines print under its trace.
		Log: zapbridge.New(zl, zapbridge.WithSpanEvents(zap.WarnLevel), zapbridge.WithErrorHook(trailzap.LogBreadcrumb),
			zapbridge.WithLoggerProvider(p.LoggerProvider()), zapbridge.WithWaterfall(p.Waterfall())),
		Slog:    slog.New(sh).With("service", service),
		Reports: reports,
	}, nil
}

// zapStyle writes slog's time and level as the zap lines beside them do ("ts", "info"), so
// that one reader (the demo, a log search) takes both services' lines alike.
func zapStyle(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		a.Key = "ts"
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			a.Value = slog.StringValue(strings.ToLower(l.String()))
		}
	}
	return a
}

// lockedWriter serialises writes: zap's core and the slog handler share one writer.
func lockedWriter(w io.Writer) io.Writer { return &locked{w: w} }

type locked struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ReportSink is where the service's error reports go: the Reports log line, and the terminal
// waterfall when it was chosen, under the report's trace.
func (t *Telemetry) ReportSink() trail.Sink {
	return trail.Sinks(t.Reports, trail.NewWaterfallSink(t.Provider.Waterfall()))
}

// Shutdown flushes the spans and stops the monitor (a span processor of the provider).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.Reports.Shutdown(ctx), t.Provider.Shutdown(ctx), t.Log.Sync())
}
