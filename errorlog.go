package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
)

// WithErrorHandler routes everything ctxtrail and the OpenTelemetry SDK report to fn instead of
// the standard log package: Install's own warnings (a bad OTEL_SDK_DISABLED, OTEL_* variables
// it ignores, failed jaeger_remote polls), warnings about bad incoming headers (through
// Provider.WarnLimiter), lost spans and log records (unless WithLossWarnings names its own sink),
// and, unless WithoutGlobal, the SDK's own errors, for which Install sets otel.SetErrorHandler
// before it builds anything (and puts the previous handler back if it fails). Every report is
// counted and rate-limited: Install's warnings are made once per Install (a failing poll once a
// minute), the others by their own limiters, the SDK's errors at most one per
// DefaultWarnInterval, the next saying how many were swallowed. What is still swallowed when
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
		hw *propagators.HeaderWarning
		lw *LossWarning
		gw *LogLossWarning
	)
	if errors.As(err, &hw) || errors.As(err, &lw) || errors.As(err, &gw) {
		r.fn(err)
		return
	}
	if sdkSamplerComplaint(err) {
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

// sdkSamplerComplaint reports whether err is the SDK's "unsupported sampler" about a sampler
// that Install reads from OTEL_TRACES_SAMPLER itself: NewTracerProvider reads the variable
// before Install's WithSampler replaces its choice, and would tell the service's logger that a
// working setting is unsupported. TestInstallWarningsReachErrorHandlerFirst fails if the SDK
// changes the message.
func sdkSamplerComplaint(err error) bool {
	switch err.Error() {
	case "unsupported sampler: jaeger_remote", "unsupported sampler: parentbased_jaeger_remote":
		return true
	}
	return false
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

// routeErrorsFirst is the first thing Install does, before anything it runs can warn: with
// WithErrorHandler it makes the router of the SDK's errors and, unless WithoutGlobal, sets it as
// the global error handler, so that what the SDK reports while Install builds the providers
// reaches the service's logger too. restore puts the previous global handler back, for an
// Install that fails. The router is nil without WithErrorHandler.
func routeErrorsFirst(cfg config) (r *errorRouter, restore func()) {
	if cfg.errorFunc == nil {
		return nil, func() {}
	}
	r = &errorRouter{fn: cfg.errorFunc, interval: propagators.DefaultWarnInterval}
	if cfg.noGlobal {
		return r, func() {}
	}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(r)
	return r, func() { otel.SetErrorHandler(prev) }
}

// warn reports one of Install's own warnings (a setting read as something else, a variable
// ignored, a failed remote sampler poll): to WithErrorHandler's function, straight, since each
// is made once per Install or already rate-limited where it is made, or else through
// otel.Handle. A nil router means otel.Handle. WithoutGlobal changes nothing here: the
// service's handler gets them either way.
func (r *errorRouter) warn(err error) {
	if r == nil {
		otel.Handle(err)
		return
	}
	r.fn(err)
}

// installErrors makes the Provider's header WarnLimiter and keeps r, the router
// routeErrorsFirst made (nil without WithErrorHandler).
func (p *Provider) installErrors(cfg config, r *errorRouter) {
	p.errors = r
	if cfg.errorFunc == nil {
		p.headerWarn = propagators.NewWarnLimiter(0, nil)
		return
	}
	p.headerWarn = propagators.NewWarnLimiter(0, cfg.errorFunc)
}

// WarnLimiter returns the limiter for warnings about bad incoming headers that Install made: its
// reports go where WithErrorHandler says (otel.Handle by default), and Shutdown reports what it
// swallowed. Handlers given WithProvider(p) use it; hand it to others with WithWarnLimiter.
func (p *Provider) WarnLimiter() *propagators.WarnLimiter { return p.headerWarn }

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
