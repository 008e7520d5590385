package spans

import (
	"context"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Processor is the sdktrace.SpanProcessor that fires Hooks: init when a span starts, destroy
// when it ends, and before and after around the function that Run, RunValue and Go run under
// a span it saw start. Register it with ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(p)) or
// sdktrace.WithSpanProcessor.
//
// Hooks can be added and removed, and the processor enabled and disabled, at any time and from
// any goroutine. The span path never takes a lock: it loads one atomic pointer to an immutable
// hook list (nil while disabled), and the info it hands to Init and Destroy reads the span only
// when asked, so a disabled processor, or hooks with nothing to do, cost a few nanoseconds a span
// and no allocation. A hook added or removed while a span is live sees the rest of that span's
// events, not the ones before; a processor disabled mid-span fires nothing more.
//
// Like every span processor it sees recording spans only; see the package doc.
type Processor struct {
	// live is what the span path reads: the hooks while enabled, nil while disabled. One atomic
	// load per event answers both "am I on?" and "what do I call?".
	live atomic.Pointer[hookList]

	mu      sync.Mutex // serialises every writer
	hooks   *hookList  // the registered hooks, enabled or not
	enabled bool
	shut    bool
	counted bool // p is in claiming
	nextID  uint64
}

// claiming counts the Processors that are enabled and not shut down. While it is zero no span
// can be claimed for before/after hooks, so Run and Go start theirs without the probe (run.go)
// and its allocation.
var claiming atomic.Int64

var _ sdktrace.SpanProcessor = (*Processor)(nil)

type processorConfig struct {
	hooks    []Hooks
	disabled bool
}

// ProcessorOption configures NewProcessor.
type ProcessorOption interface {
	applyProcessor(processorConfig) processorConfig
}

type processorOptionFunc func(processorConfig) processorConfig

func (f processorOptionFunc) applyProcessor(c processorConfig) processorConfig { return f(c) }

// WithHooks registers hooks from the start, as AddHooks would (without a way to remove them).
func WithHooks(hooks ...Hooks) ProcessorOption {
	return processorOptionFunc(func(c processorConfig) processorConfig {
		c.hooks = append(append([]Hooks(nil), c.hooks...), hooks...)
		return c
	})
}

// WithDisabled makes the processor start disabled, as a hook from Node's createHook does, until
// Enable is called.
func WithDisabled() ProcessorOption {
	return processorOptionFunc(func(c processorConfig) processorConfig { c.disabled = true; return c })
}

// NewProcessor returns an enabled Processor (unless WithDisabled).
func NewProcessor(opts ...ProcessorOption) *Processor {
	var cfg processorConfig
	for _, o := range opts {
		if o != nil {
			cfg = o.applyProcessor(cfg)
		}
	}
	p := &Processor{enabled: !cfg.disabled}
	for _, h := range cfg.hooks {
		p.AddHooks(h)
	}
	p.publish()
	return p
}

// publish makes the span path see the current state. Callers hold p.mu (or own p alone).
func (p *Processor) publish() {
	if on := p.enabled && !p.shut; on != p.counted {
		p.counted = on
		if on {
			claiming.Add(1)
		} else {
			claiming.Add(-1)
		}
	}
	switch {
	case !p.enabled || p.shut:
		p.live.Store(nil)
	case p.hooks == nil:
		p.live.Store(&hookList{}) // enabled with no hooks: still claims Run's spans
	default:
		p.live.Store(p.hooks)
	}
}

// AddHooks registers h and returns a function that removes it again; calling that function
// more than once is harmless. The same Hooks value may be added twice: it then fires twice.
func (p *Processor) AddHooks(h Hooks) (remove func()) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.hooks = p.hooks.with(hookEntry{id: id, hooks: h})
	p.publish()
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.hooks = p.hooks.without(id)
			p.publish()
			p.mu.Unlock()
		})
	}
}

// Enable makes the processor fire its hooks. It does nothing after Shutdown.
func (p *Processor) Enable() { p.setEnabled(true) }

// Disable stops the processor from firing hooks until Enable.
func (p *Processor) Disable() { p.setEnabled(false) }

func (p *Processor) setEnabled(on bool) {
	p.mu.Lock()
	p.enabled = on
	p.publish()
	p.mu.Unlock()
}

// Enabled reports whether the processor fires its hooks.
func (p *Processor) Enabled() bool { return p.live.Load() != nil }

// OnStart fires the Init hooks. It implements sdktrace.SpanProcessor.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	l := p.live.Load()
	if l == nil || s == nil {
		return
	}
	if pr, ok := parent.(*runProbe); ok {
		pr.add(p) // the span is Run's or Go's: fire before/after for it later
	}
	info := InitInfo{Context: parent, Span: s}
	for _, f := range l.init {
		f(info)
	}
}

// OnEnd fires the Destroy hooks. It implements sdktrace.SpanProcessor.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	l := p.live.Load()
	if l == nil || s == nil {
		return
	}
	info := DestroyInfo{Span: s}
	for _, f := range l.destroy {
		f(info)
	}
}

func (p *Processor) fireBefore(info CallInfo) {
	if l := p.live.Load(); l != nil {
		for _, f := range l.before {
			f(info)
		}
	}
}

func (p *Processor) fireAfter(info AfterInfo) {
	if l := p.live.Load(); l != nil {
		for _, f := range l.after {
			f(info)
		}
	}
}

// Shutdown disables the processor for good. It implements sdktrace.SpanProcessor; the tracer
// provider calls it from its own Shutdown.
func (p *Processor) Shutdown(context.Context) error {
	p.mu.Lock()
	p.shut = true
	p.publish()
	p.mu.Unlock()
	return nil
}

// ForceFlush does nothing: the processor holds no spans. It implements sdktrace.SpanProcessor.
func (p *Processor) ForceFlush(context.Context) error { return nil }
