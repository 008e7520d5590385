package slogbridge

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/log"
)

// Default attribute names, the same as zapbridge's. Each can be changed, or switched off with an
// empty name, by an option.
const (
	DefaultTraceIDKey      = "trace_id"
	DefaultSpanIDKey       = "span_id"
	DefaultParentSpanIDKey = "parent_span_id"
	DefaultRequestIDKey    = "request_id"
)

// MaxBaggageMembers is how many baggage members WithBaggageMembers can choose. Each chosen member
// costs a map lookup on every record, so the list stays short.
const MaxBaggageMembers = 16

// HookFunc is called for a record with the record's context (context.Background() when the
// record has none). It runs on the logging goroutine, before the record is handed to the next
// handler, and may be called concurrently. The record is the one logged, without the context's
// attributes; call its Clone method to keep it past the call.
type HookFunc func(ctx context.Context, r slog.Record)

type hook struct {
	level slog.Leveler
	fn    HookFunc
}

type config struct {
	traceIDKey      string
	spanIDKey       string
	parentSpanIDKey string
	requestIDKey    string
	baggage         []string

	eventLevel  slog.Leveler // nil: no span events
	otel        log.Logger   // WithLoggerProvider's; nil: no OpenTelemetry log records
	otelUnique  log.Logger   // the same provider's, for records with unique keys (logctx.UniqueKeysProvider); nil: none
	waterfall   LineWriter   // WithWaterfall's; nil: not wired
	errorStatus bool
	hooks       []hook
}

// Option configures NewHandler.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTraceIDKey names the trace ID attribute (DefaultTraceIDKey). An empty name leaves it out.
func WithTraceIDKey(key string) Option {
	return optionFunc(func(c config) config { c.traceIDKey = key; return c })
}

// WithSpanIDKey names the span ID attribute (DefaultSpanIDKey). An empty name leaves it out.
func WithSpanIDKey(key string) Option {
	return optionFunc(func(c config) config { c.spanIDKey = key; return c })
}

// WithParentSpanIDKey writes the parent span's ID under key on records logged inside a local
// child span. It is off by default; DefaultParentSpanIDKey is the usual name. An empty name
// switches it off again.
func WithParentSpanIDKey(key string) Option {
	return optionFunc(func(c config) config { c.parentSpanIDKey = key; return c })
}

// WithRequestIDKey names the request ID attribute (DefaultRequestIDKey). An empty name leaves it
// out.
func WithRequestIDKey(key string) Option {
	return optionFunc(func(c config) config { c.requestIDKey = key; return c })
}

// WithBaggageMembers writes the named W3C baggage members, when the record's context carries
// them, as string attributes named by the member's key. Empty and repeated keys are ignored;
// past MaxBaggageMembers keys the rest are ignored.
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

// WithSpanEvents mirrors every record at or above level as an event named "log" on the record's
// span, when that span is recording. The event carries log.message and log.severity, the caller
// as code.function.name, code.file.path and code.line.number, and the record's own attributes
// (groups flattened into dotted keys). A nil level switches it off (the default).
func WithSpanEvents(level slog.Leveler) Option {
	return optionFunc(func(c config) config { c.eventLevel = level; return c })
}

// WithoutErrorStatus stops error-level records (slog.LevelError and above) from setting the
// span's status to Error, which they do by default.
func WithoutErrorStatus() Option {
	return optionFunc(func(c config) config { c.errorStatus = false; return c })
}

// WithHook calls fn for every record at or above level, before the record is handed on: the
// seam for error tracking and breadcrumbs. Hooks run in the order given. A nil fn or level is
// ignored.
func WithHook(level slog.Leveler, fn HookFunc) Option {
	return optionFunc(func(c config) config {
		if level == nil || fn == nil {
			return c
		}
		c.hooks = append(append([]hook(nil), c.hooks...), hook{level: level, fn: fn})
		return c
	})
}

// WithErrorHook calls fn for every record at slog.LevelError and above:
// WithHook(slog.LevelError, fn). trail.SlogBreadcrumb is such a hook.
func WithErrorHook(fn HookFunc) Option {
	return WithHook(slog.LevelError, fn)
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
	return c
}
