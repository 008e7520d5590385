package waterfall

import "time"

type config struct {
	barWidth  int
	maxTraces int
	maxSpans  int
	maxLines  int
	maxAge    time.Duration
	queueSize int
}

// Option configures New.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithBarWidth sets the columns of the duration bar (DefaultBarWidth).
func WithBarWidth(n int) Option {
	return optionFunc(func(c config) config { c.barWidth = n; return c })
}

// WithMaxTraces bounds the traces waiting for their local root (DefaultMaxTraces, at least 1).
// A trace pushed out by a newer one is printed as it is, marked incomplete.
func WithMaxTraces(n int) Option {
	return optionFunc(func(c config) config { c.maxTraces = n; return c })
}

// WithMaxSpans bounds the spans kept per trace (DefaultMaxSpans, at least 1); the local root is
// always kept, and the header counts the rest.
func WithMaxSpans(n int) Option {
	return optionFunc(func(c config) config { c.maxSpans = n; return c })
}

// WithMaxLines bounds the log lines kept per trace (DefaultMaxLines; 0 keeps none).
func WithMaxLines(n int) Option {
	return optionFunc(func(c config) config { c.maxLines = n; return c })
}

// WithMaxAge sets how long a trace may wait for its local root (DefaultMaxAge) before it is
// printed as it is, marked incomplete: a request that hangs shows up.
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(c config) config { c.maxAge = d; return c })
}

// WithQueueSize sets how many ended spans and log lines wait for the printer's goroutine
// (DefaultQueueSize, at least 1). Past it they are dropped and counted; the request path never
// waits for the printer.
func WithQueueSize(n int) Option {
	return optionFunc(func(c config) config { c.queueSize = n; return c })
}

func newConfig(opts []Option) config {
	c := config{
		barWidth:  DefaultBarWidth,
		maxTraces: DefaultMaxTraces,
		maxSpans:  DefaultMaxSpans,
		maxLines:  DefaultMaxLines,
		maxAge:    DefaultMaxAge,
		queueSize: DefaultQueueSize,
	}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.barWidth <= 0 {
		c.barWidth = DefaultBarWidth
	}
	c.maxTraces = max(c.maxTraces, 1)
	c.maxSpans = max(c.maxSpans, 1)
	c.maxLines = max(c.maxLines, 0)
	c.queueSize = max(c.queueSize, 1)
	if c.maxAge <= 0 {
		c.maxAge = DefaultMaxAge
	}
	return c
}
