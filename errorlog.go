package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
)

// WithErrorHandler routes everything ctxtrail and the OpenTelemetry SDK report to fn instead of
// the standard log package: warnings about bad incoming headers (through Provider.WarnLimiter),
// lost spans and log records (unless WithLossWarnings names its own sink), and, unless
// WithoutGlobal, the SDK's own errors, for which Install sets otel.SetErrorHandler. Every report
// is counted and rate-limited: the warnings by their own limiters, the SDK's errors at most one
// per DefaultWarnInterval, the next saying how many were swallowed. What is still swallowed when
// the Provider shuts down is reported by Shutdown. fn may be called on a request's goroutine and
// must not block. otelctx.ErrorFields turns a report into a message and fields for a structured logger;
// zapbridge.ErrorHandler does it for zap.
func WithErrorHandler(fn func(error)) Option {
	return optionFunc(func(c config) config { c.errorFunc = fn; return c })
}

// WithErrorLogger is WithErrorHandler writing each report to l as one record at level Warn,
// with the message and attributes otelctx.ErrorFields gives. slogbridge's handlers take it as it is.
func WithErrorLogger(l *slog.Logger) Option {
	if l == nil {
		return WithErrorHandler(nil)
	}
	return WithErrorHandler(func(err error) {
		msg, kvs := otelctx.ErrorFields(err)
		attrs := make([]slog.Attr, 0, len(kvs))
		for _, kv := range kvs {
			attrs = append(attrs, slog.Any(string(kv.Key), kv.Value.AsInterface()))
		}
		l.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
	})
}

// sdkErrors is what the error router reports for the SDK's own errors: the error that triggered
// the report and how many more were swallowed since the previous one.
type sdkErrors struct {
	Err        error
	Suppressed uint64
	Interval   time.Duration
}

func (e *sdkErrors) Error() string {
	if e.Suppressed == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (and %d more OpenTelemetry errors not reported; at most one report per %v)",
		e.Err, e.Suppressed, e.Interval)
}

func (e *sdkErrors) Unwrap() error { return e.Err }

// errorRouter passes the reports ctxtrail already rate-limits straight to fn, and the SDK's
// other errors at most once per interval.
type errorRouter struct {
	fn         func(error)
	interval   time.Duration
	next       atomic.Int64
	suppressed atomic.Uint64
	last       atomic.Pointer[error]
}

// Handle implements otel.ErrorHandler.
func (r *errorRouter) Handle(err error) {
	if err == nil {
		return
	}
	var (
		hw *otelctx.HeaderWarning
		lw *LossWarning
		gw *LogLossWarning
	)
	if errors.As(err, &hw) || errors.As(err, &lw) || errors.As(err, &gw) {
		r.fn(err)
		return
	}
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(r.interval)) {
		r.last.Store(&err)
		r.suppressed.Add(1)
		return
	}
	r.fn(&sdkErrors{Err: err, Suppressed: r.suppressed.Swap(0), Interval: r.interval})
}

// flush reports the SDK errors swallowed since the last report, if any.
func (r *errorRouter) flush() {
	if r == nil {
		return
	}
	if n := r.suppressed.Swap(0); n > 0 {
		err := errors.New("OpenTelemetry errors not reported before shutdown")
		if p := r.last.Load(); p != nil {
			err = *p
		}
		r.fn(&sdkErrors{Err: err, Suppressed: n - 1, Interval: r.interval})
	}
}

// routeErrors applies WithErrorHandler to the config: the loss warnings go to its function
// unless WithLossWarnings named a sink.
func routeErrors(cfg config) config {
	if cfg.errorFunc != nil && cfg.lossSink == nil {
		cfg.lossSink = cfg.errorFunc
	}
	return cfg
}

// installErrors makes the Provider's header WarnLimiter and, with WithErrorHandler, the router of
// the SDK's errors, which it sets as the global error handler unless WithoutGlobal.
func (p *Provider) installErrors(cfg config) {
	if cfg.errorFunc == nil {
		p.headerWarn = otelctx.NewWarnLimiter(0, nil)
		return
	}
	p.errors = &errorRouter{fn: cfg.errorFunc, interval: otelctx.DefaultWarnInterval}
	p.headerWarn = otelctx.NewWarnLimiter(0, cfg.errorFunc)
	if !cfg.noGlobal {
		otel.SetErrorHandler(p.errors)
	}
}

// WarnLimiter returns the limiter for warnings about bad incoming headers that Install made: its
// reports go where WithErrorHandler says (otel.Handle by default), and Shutdown reports what it
// swallowed. Handlers given WithProvider(p) use it; hand it to others with WithWarnLimiter.
func (p *Provider) WarnLimiter() *otelctx.WarnLimiter { return p.headerWarn }

// flushWarnings reports, at shutdown, the warnings and errors swallowed since their last report.
func (p *Provider) flushWarnings() {
	p.headerWarn.Flush()
	p.errors.flush()
}

// LogFields gives the report as a log message and fields (otelctx.ErrorFields).
func (e *sdkErrors) LogFields() (string, []attribute.KeyValue) {
	return "opentelemetry error", []attribute.KeyValue{
		attribute.String("error", e.Err.Error()), attribute.Int64("suppressed", int64(e.Suppressed)),
	}
}
