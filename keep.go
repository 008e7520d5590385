package ctxtrail

import (
	"time"

	"github.com/ctxtrail/ctxtrail/spans/keep"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables of the in-process capture (package spans/keep). Options win over them.
const (
	// EnvKeep turns the capture on: "errors-and-slow" (or "on", "true") keeps every failed and
	// slow trace whole; "off", "false", "none" or unset leave it off.
	EnvKeep = "CTXTRAIL_KEEP"
	// EnvKeepSlow is the slow threshold, a Go duration ("750ms"); "0" keeps no trace for being
	// slow. Default keep.DefaultSlowThreshold.
	EnvKeepSlow = "CTXTRAIL_KEEP_SLOW"
)

// WithKeepErrorsAndSlow turns on the in-process capture (package spans/keep): the spans the
// head sampler drops are recorded and buffered per trace, and a trace in which a span failed,
// whose local root was slow, or whose callee kept its part is exported whole, as if sampled;
// the rest are dropped. Install wraps its sampler (after WithSamplerWrapper's wrappers) in
// keep.Sampler and puts one keep.Processor in front of its exporters, publishing the
// processor's metrics with its meter provider. opts tune it (keep.WithSlowThreshold, the caps);
// CTXTRAIL_KEEP_SLOW sets the threshold when opts do not. Processors given with
// WithSpanProcessor (hooks, the monitor) then see every recorded span, not only sampled ones.
// Under OTEL_SDK_DISABLED=true the capture stays off.
func WithKeepErrorsAndSlow(opts ...keep.Option) Option {
	return optionFunc(func(c config) config {
		c.keep = &keepConfig{opts: append([]keep.Option(nil), opts...)}
		return c
	})
}

// WithoutKeepErrorsAndSlow leaves the capture off whatever CTXTRAIL_KEEP says.
func WithoutKeepErrorsAndSlow() Option {
	return optionFunc(func(c config) config { c.keep = &keepConfig{off: true}; return c })
}

type keepConfig struct {
	off  bool
	opts []keep.Option
}

// keepFromEnv settles the capture's options from WithKeepErrorsAndSlow and the environment; nil
// means off.
func keepFromEnv(cfg config) ([]keep.Option, error) {
	if cfg.keep != nil && cfg.keep.off {
		return nil, nil
	}
	if cfg.keep == nil {
		switch v := getenv(EnvKeep); v {
		case "", "off", "false", "none":
			return nil, nil
		case "errors-and-slow", "on", "true":
		default:
			return nil, configErr("%s=%q: want errors-and-slow (or on) to keep failed and slow traces, or off", EnvKeep, v)
		}
	}
	opts := []keep.Option{} // non-nil: on
	if v := getenv(EnvKeepSlow); v != "" {
		d, err := time.ParseDuration(v) // "0" parses: no trace kept for being slow
		if err != nil || d < 0 {
			return nil, configErr("%s=%q: want a duration such as 750ms, or 0 to keep no trace for being slow", EnvKeepSlow, v)
		}
		opts = append(opts, keep.WithSlowThreshold(d))
	}
	if cfg.keep != nil {
		opts = append(opts, cfg.keep.opts...) // the options win: they come last
	}
	return opts, nil
}

// keepSampler wraps the sampler Install chose when the capture is on.
func keepSampler(s sdktrace.Sampler, opts []keep.Option, disabled bool) sdktrace.Sampler {
	if opts == nil || disabled {
		return s
	}
	return keep.Sampler(s)
}

// appendKeep registers the capture beside the exporting pipelines, which it hands the kept
// spans to; processors gains it, so that Shutdown stops it even when the SDK skips it. Its
// metrics are registered by registerHealth, like a WithSpanProcessor processor's, and so stay
// registered until the meter provider's last collection at Shutdown: the capture's final
// counts are exported, not lost when the tracer provider stops it.
func appendKeep(tpOpts []sdktrace.TracerProviderOption, processors []sdktrace.SpanProcessor, opts []keep.Option,
	next []sdktrace.SpanProcessor, disabled bool) ([]sdktrace.TracerProviderOption, []sdktrace.SpanProcessor, *keep.Processor) {
	if opts == nil || disabled {
		return tpOpts, processors, nil
	}
	kp := keep.NewProcessor(next, append(opts, keep.WithKeptOnly())...)
	return append(tpOpts, sdktrace.WithSpanProcessor(kp)), append(append([]sdktrace.SpanProcessor(nil), processors...), kp), kp
}
