package shop

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Telemetry is one service's ctxtrail: its tracer provider, live span monitor and logger.
type Telemetry struct {
	Service  string
	Provider *otelctx.Provider
	Monitor  *spans.Monitor
	Log      *zapbridge.Logger
	Reports  *trail.LogSink // error reports with breadcrumbs, one log line each
}

// NewTelemetry installs ctxtrail for one service. Logs are JSON lines on logs; opts go to
// otelctx.Install (an exporter, WithoutGlobal for several services in one process, …).
func NewTelemetry(ctx context.Context, service string, logs io.Writer, opts ...otelctx.Option) (*Telemetry, error) {
	mon := spans.NewMonitor(spans.WithLeakThreshold(30 * time.Second))
	opts = append([]otelctx.Option{otelctx.WithServiceName(service), otelctx.WithSpanProcessor(mon)}, opts...)
	p, err := otelctx.Install(ctx, opts...)
	if err != nil {
		_ = mon.Shutdown(ctx)
		return nil, err
	}
	mon.SetExportStats(p.Stats) // dropped and failed exports on /debug/ctxtrail
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(logs)), zap.InfoLevel)
	zl := zap.New(core).With(zap.String("service", service))
	return &Telemetry{
		Service:  service,
		Provider: p,
		Monitor:  mon,
		// Warnings and errors become span events; error lines also leave a breadcrumb.
		Log:     zapbridge.New(zl, zapbridge.WithSpanEvents(zap.WarnLevel), zapbridge.WithErrorHook(trail.LogBreadcrumb)),
		Reports: trail.NewLogSink(zl.Named("report")),
	}, nil
}

// Shutdown flushes the spans and stops the monitor (a span processor of the provider).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.Reports.Shutdown(ctx), t.Provider.Shutdown(ctx), t.Log.Sync())
}
