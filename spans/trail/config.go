package trail

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// Defaults and hard bounds. Every buffer the package keeps is bounded by one of these.
const (
	// DefaultMaxBreadcrumbs is how many breadcrumbs a trail keeps unless WithMaxBreadcrumbs
	// says otherwise; past it the oldest are dropped first.
	DefaultMaxBreadcrumbs = 100

	// DefaultMaxBytes is the byte budget of a trail's breadcrumbs (see WithMaxBytes).
	DefaultMaxBytes = 64 << 10

	// MaxMessageLen bounds a breadcrumb's message and category and each string in its data, in
	// bytes; longer strings are cut at a UTF-8 boundary.
	MaxMessageLen = 1024

	// MaxData is how many data attributes a breadcrumb keeps; the rest are dropped.
	MaxData = 32

	// DefaultMaxFrames is how many stack frames a report keeps unless WithMaxFrames says
	// otherwise. MaxFrames is the most WithMaxFrames accepts.
	DefaultMaxFrames = 32
	MaxFrames        = 256

	// MaxErrors bounds the entries of a report's error chain and MaxErrorDepth how deep the
	// walk through Unwrap goes; a chain cut by either is marked errors_truncated.
	MaxErrors     = 32
	MaxErrorDepth = 16

	// MaxErrorMessageLen bounds the report's message and each error message in its chain.
	MaxErrorMessageLen = 4096
)

// DefaultFieldKeys returns the request-store keys (otelctx.AddFields) a report copies into its
// context unless WithFieldKeys says otherwise: the method and path the otelctx middleware puts
// there, the route, the method the gRPC handler (otelctx/grpcctx) puts there (rpc.service is
// kept for stores filled by other code), and
// the user id under either of its semantic-convention names (enduser.id, user.id).
func DefaultFieldKeys() []attribute.Key {
	return []attribute.Key{"http.request.method", "url.path", "http.route", "rpc.service", "rpc.method", "enduser.id", "user.id"}
}

// BeforeBreadcrumb may change a breadcrumb or drop it (by returning false) before it is kept
// or recorded on the span: the place to scrub secrets. It gets its own copy of the crumb's
// data, may be called concurrently, and must not block.
type BeforeBreadcrumb func(ctx context.Context, b Breadcrumb) (Breadcrumb, bool)

type config struct {
	maxCrumbs    int
	maxBytes     int
	before       BeforeBreadcrumb
	sink         Sink
	fieldKeys    []attribute.Key
	maxFrames    int
	setMaxCrumbs bool
	setMaxBytes  bool
	setKeys      bool
	setFrames    bool
}

// Option configures Start, NewHandler and Middleware: the trail's bounds, its filter, and
// where its reports go.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithMaxBreadcrumbs sets how many breadcrumbs the trail keeps (DefaultMaxBreadcrumbs); the
// oldest are dropped first. 0 (or less) keeps none: breadcrumbs are then only span events.
func WithMaxBreadcrumbs(n int) Option {
	return optionFunc(func(c config) config { c.maxCrumbs, c.setMaxCrumbs = max(n, 0), true; return c })
}

// WithMaxBytes sets the byte budget of the trail's breadcrumbs (DefaultMaxBytes): message,
// category and data, plus a small fixed cost per crumb. Past it the oldest crumbs are dropped;
// a single crumb bigger than the whole budget is dropped. 0 (or less) keeps none.
func WithMaxBytes(n int) Option {
	return optionFunc(func(c config) config { c.maxBytes, c.setMaxBytes = max(n, 0), true; return c })
}

// WithBeforeBreadcrumb sets a filter that every breadcrumb goes through before it is kept and
// before it is recorded as a span event. A nil fn removes the filter.
func WithBeforeBreadcrumb(fn BeforeBreadcrumb) Option {
	return optionFunc(func(c config) config { c.before = fn; return c })
}

// WithSink sends the reports captured from the trail's contexts to s. Without a sink a report
// is still built, returned by Capture and recorded on the span, but sent nowhere: ctxtrail has
// no global hub. NewLogSink is the usual sink.
func WithSink(s Sink) Option {
	return optionFunc(func(c config) config { c.sink = s; return c })
}

// WithFieldKeys sets which request-store fields a report copies into its context, replacing
// DefaultFieldKeys. Empty and repeated keys are ignored; at most 64 are kept.
func WithFieldKeys(keys ...attribute.Key) Option {
	out := make([]attribute.Key, 0, len(keys))
	for _, k := range keys {
		if k == "" || len(out) >= 64 || containsKey(out, k) {
			continue
		}
		out = append(out, k)
	}
	return optionFunc(func(c config) config { c.fieldKeys, c.setKeys = out, true; return c })
}

// WithMaxFrames sets how many stack frames a report keeps (DefaultMaxFrames, at most
// MaxFrames). 0 keeps no stack.
func WithMaxFrames(n int) Option {
	return optionFunc(func(c config) config { c.maxFrames, c.setFrames = min(max(n, 0), MaxFrames), true; return c })
}

func newConfig(opts []Option) *config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if !c.setMaxCrumbs {
		c.maxCrumbs = DefaultMaxBreadcrumbs
	}
	if !c.setMaxBytes {
		c.maxBytes = DefaultMaxBytes
	}
	if !c.setKeys {
		c.fieldKeys = DefaultFieldKeys()
	}
	if !c.setFrames {
		c.maxFrames = DefaultMaxFrames
	}
	return &c
}

// defaultConfig is what Capture uses on a context that holds no trail. It is built afresh
// each time: there are no mutable globals.
func defaultConfig() *config { return newConfig(nil) }

func containsKey(keys []attribute.Key, k attribute.Key) bool {
	for _, have := range keys {
		if have == k {
			return true
		}
	}
	return false
}
