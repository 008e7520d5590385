package zapbridge

import (
	"context"
	"os"

	"go.opentelemetry.io/otel/log"
	"go.uber.org/zap/zapcore"
)

// Default field names. Each can be changed, or switched off with an empty name, by an option.
const (
	DefaultTraceIDKey      = "trace_id"
	DefaultSpanIDKey       = "span_id"
	DefaultParentSpanIDKey = "parent_span_id"
	DefaultRequestIDKey    = "request_id"
)

// MaxBaggageMembers is how many baggage members WithBaggageMembers can choose. Each chosen member
// costs a map lookup on every line, so the list stays short.
const MaxBaggageMembers = 16

// HookFunc is called for a log line with the line's context (context.Background() when the line
// has none) and its entry. It runs on the logging goroutine, before the line is written, and may
// be called concurrently. The entry is a copy the hook may keep.
type HookFunc func(ctx context.Context, ent zapcore.Entry)

type hook struct {
	level zapcore.LevelEnabler
	fn    HookFunc
}

type config struct {
	traceIDKey      string
	spanIDKey       string
	parentSpanIDKey string
	requestIDKey    string
	baggage         []string

	eventLevel  zapcore.LevelEnabler // nil: no span events
	errorStatus bool
	hooks       []hook
	errorOutput zapcore.WriteSyncer
	otel        log.Logger // WithLoggerProvider's; nil: no OpenTelemetry log records
	otelUnique  log.Logger // the same provider's, for records with unique keys (logctx.UniqueKeysProvider); nil: none
	waterfall   LineWriter // WithWaterfall: nil when not wired
}

// Option configures New and NewCore.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTraceIDKey names the trace ID field (DefaultTraceIDKey). An empty name leaves it out.
func WithTraceIDKey(key string) Option {
	return optionFunc(func(c config) config { c.traceIDKey = key; return c })
}

// WithSpanIDKey names the span ID field (DefaultSpanIDKey). An empty name leaves it out.
func WithSpanIDKey(key string) Option {
	return optionFunc(func(c config) config { c.spanIDKey = key; return c })
}

// WithParentSpanIDKey writes the parent span's ID under key on lines logged inside a local child
// span. It is off by default; DefaultParentSpanIDKey is the usual name. An empty name switches
// it off again.
func WithParentSpanIDKey(key string) Option {
	return optionFunc(func(c config) config { c.parentSpanIDKey = key; return c })
}

// WithRequestIDKey names the request ID field (DefaultRequestIDKey). An empty name leaves it out.
func WithRequestIDKey(key string) Option {
	return optionFunc(func(c config) config { c.requestIDKey = key; return c })
}

// WithBaggageMembers writes the named W3C baggage members, when the line's context carries them,
// as string fields named by the member's key. Empty and repeated keys are ignored; past
// MaxBaggageMembers keys the rest are ignored. Values go through zap's encoder like any other
// string, so a control character in a header cannot break a line; and the identifier members
// (user.id, tenant.id, session.id, request.id) are written only when their value is an
// identifier, as baggage.IDCodec requires. Other members are written as they are.
func WithBaggageMembers(keys ...string) Option {
	return optionFunc(func(c config) config {
		out := append([]string(nil), c.baggage...)
	next:
		for _, k := range keys {
			if k == "" || len(out) >= MaxBaggageMembers {
				continue
			}
			for _, have := range out {
				if have == k {
					continue next
				}
			}
			out = append(out, k)
		}
		c.baggage = out
		return c
	})
}

// WithSpanEvents mirrors every line that level enables as an event named "log" on the line's
// span, when that span is recording. The event carries log.message and log.severity, the
// caller as code.function.name, code.file.path and code.line.number, the stack as
// code.stacktrace, and the line's own fields as attributes. A nil level switches it off (the
// default).
func WithSpanEvents(level zapcore.LevelEnabler) Option {
	return optionFunc(func(c config) config { c.eventLevel = level; return c })
}

// WithoutErrorStatus stops error-level lines (Error and above) from setting the span's status
// to Error, which they do by default.
func WithoutErrorStatus() Option {
	return optionFunc(func(c config) config { c.errorStatus = false; return c })
}

// WithHook calls fn for every line that level enables, before the line is written: the seam for
// error tracking and breadcrumbs. Hooks run in the order given. A nil fn or level is ignored.
func WithHook(level zapcore.LevelEnabler, fn HookFunc) Option {
	return optionFunc(func(c config) config {
		if level == nil || fn == nil {
			return c
		}
		c.hooks = append(append([]hook(nil), c.hooks...), hook{level: level, fn: fn})
		return c
	})
}

// WithErrorHook calls fn for every line at Error level and above: WithHook(zapcore.ErrorLevel, fn).
func WithErrorHook(fn HookFunc) Option {
	return WithHook(zapcore.ErrorLevel, fn)
}

// WithErrorOutput sets where a core made by NewCore reports errors from the core it wraps, as
// zap.ErrorOutput does for a Logger. The default is standard error.
func WithErrorOutput(w zapcore.WriteSyncer) Option {
	return optionFunc(func(c config) config { c.errorOutput = w; return c })
}

func newConfig(opts []Option) config {
	c := config{
		traceIDKey:   DefaultTraceIDKey,
		spanIDKey:    DefaultSpanIDKey,
		requestIDKey: DefaultRequestIDKey,
		errorStatus:  true,
	}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.errorOutput == nil {
		c.errorOutput = zapcore.Lock(os.Stderr)
	}
	return c
}
