package spans

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the spans Run, RunValue and Go start.
const TracerName = "github.com/ctxtrail/ctxtrail/spans"

// maxStack bounds the stack captured for a panic, on the span and in PanicError.
const maxStack = 16 << 10

var (
	// ErrNilFunc is returned (wrapped) by Run, RunValue, Go and Group.Go when given a nil
	// function: there is nothing to run, so no span is started.
	ErrNilFunc = errors.New("spans: nil function")

	// ErrGoexit is the error of a task whose function called runtime.Goexit (t.FailNow does)
	// instead of returning.
	ErrGoexit = errors.New("spans: function called runtime.Goexit")
)

// PanicError is a panic recovered from a function run by Go or Group.Go. The panic is also
// recorded on the task's span as an exception event, and PanicError is what Task.Wait and
// Group.Wait return, so a panic in a background task is never lost. (Run records a panic the
// same way but lets it go on with its original value.)
type PanicError struct {
	Name  string // the span name of the task that panicked
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, at most 16 KiB
}

// Error describes the panic.
func (e *PanicError) Error() string {
	return fmt.Sprintf("spans: panic in %q: %v", e.Name, e.Value)
}

// Unwrap returns the panic value when it is an error, so errors.Is and errors.As see through.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

type config struct {
	tp        trace.TracerProvider
	tracer    trace.Tracer
	kind      trace.SpanKind
	attrs     []attribute.KeyValue
	startOpts []trace.SpanStartOption
	fields    bool
}

// Option configures the span that Run, RunValue, Go and Group.Go start.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTracerProvider starts the span with a tracer of tp. Without it the span's tracer comes
// from the local span in ctx (so a child stays with its parent's provider) or, for a root or a
// remote parent, from the OpenTelemetry global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c config) config { c.tp = tp; return c })
}

// WithTracer starts the span with t. It wins over WithTracerProvider and saves the provider's
// tracer lookup (a mutex in the SDK) on every call; make the Option once and reuse it, since
// making one allocates.
func WithTracer(t trace.Tracer) Option {
	return optionFunc(func(c config) config { c.tracer = t; return c })
}

// WithKind sets the span kind (internal by default).
func WithKind(kind trace.SpanKind) Option {
	return optionFunc(func(c config) config { c.kind = kind; return c })
}

// WithAttributes sets attributes on the span at start, where samplers can see them.
func WithAttributes(kvs ...attribute.KeyValue) Option {
	return optionFunc(func(c config) config {
		c.attrs = append(append([]attribute.KeyValue(nil), c.attrs...), kvs...)
		return c
	})
}

// WithSpanOptions passes start options (links, timestamp, new root...) to the tracer.
func WithSpanOptions(opts ...trace.SpanStartOption) Option {
	return optionFunc(func(c config) config {
		c.startOpts = append(append([]trace.SpanStartOption(nil), c.startOpts...), opts...)
		return c
	})
}

// WithFields copies the request store (otelctx.AddFields) of ctx onto the span as attributes.
func WithFields() Option {
	return optionFunc(func(c config) config { c.fields = true; return c })
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}

func (c *config) tracerFor(ctx context.Context) trace.Tracer {
	if c.tracer != nil {
		return c.tracer
	}
	tp := c.tp
	if tp == nil {
		// A remote parent is a bare span context whose provider is a no-op: use the global one.
		if span := trace.SpanFromContext(ctx); span.SpanContext().IsValid() && !span.SpanContext().IsRemote() {
			tp = span.TracerProvider()
		} else {
			tp = otel.GetTracerProvider()
		}
	}
	return lastTracer.get(tp)
}

// lastTracer remembers the tracer of the last provider Run and Go asked, so that the common
// call without WithTracer skips TracerProvider.Tracer (the SDK's mutex and a map lookup keyed
// by the whole instrumentation scope, about a third of Run's own cost). It is a memo of one
// pair, holding no request data: a provider seen for the first time is asked as before.
var lastTracer tracerMemo

type tracerMemo struct {
	p atomic.Pointer[providerTracer]
}

type providerTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
}

func (m *tracerMemo) get(tp trace.TracerProvider) trace.Tracer {
	// Interface comparison panics only for two equal, non-comparable dynamic types, and only
	// comparable providers are ever stored.
	if pt := m.p.Load(); pt != nil && pt.tp == tp {
		return pt.tracer
	}
	tr := tp.Tracer(TracerName)
	if reflect.TypeOf(tp).Comparable() {
		m.p.Store(&providerTracer{tp: tp, tracer: tr})
	}
	return tr
}

func (c *config) spanStartOptions(ctx context.Context) []trace.SpanStartOption {
	if c.kind == 0 && len(c.attrs) == 0 && len(c.startOpts) == 0 && !c.fields {
		return nil
	}
	opts := make([]trace.SpanStartOption, 0, len(c.startOpts)+3)
	if c.kind != 0 {
		opts = append(opts, trace.WithSpanKind(c.kind))
	}
	if c.fields {
		if kvs := otelctx.FieldsFrom(ctx).Slice(); len(kvs) > 0 {
			opts = append(opts, trace.WithAttributes(kvs...))
		}
	}
	if len(c.attrs) > 0 {
		opts = append(opts, trace.WithAttributes(c.attrs...))
	}
	return append(opts, c.startOpts...)
}

// runProbe is the parent context Run and Go hand to the tracer. A Processor that sees it as
// the parent in OnStart adds itself, which is how Run learns whose before/after hooks to fire
// without any registry. It is only ever touched by the goroutine inside tracer.Start: the
// context Start returns wraps it, so later spans never see it as their direct parent.
type runProbe struct {
	context.Context
	n     int
	procs [2]*Processor
	more  []*Processor
}

func (pr *runProbe) add(p *Processor) {
	if pr.n < len(pr.procs) {
		pr.procs[pr.n] = p
	} else {
		pr.more = append(pr.more, p)
	}
	pr.n++
}

func (pr *runProbe) at(i int) *Processor {
	if i < len(pr.procs) {
		return pr.procs[i]
	}
	return pr.more[i-len(pr.procs)]
}

func (pr *runProbe) before(info CallInfo) {
	for i := 0; i < pr.n; i++ {
		pr.at(i).fireBefore(info)
	}
}

func (pr *runProbe) after(info AfterInfo) {
	for i := 0; i < pr.n; i++ {
		pr.at(i).fireAfter(info)
	}
}

// started is a span started by Run or Go, ready for its callback.
type started struct {
	probe *runProbe // its Context is the caller's ctx; nil when no Processor was enabled
	ctx   context.Context
	span  trace.Span
	name  string
	async bool
}

func start(ctx context.Context, name string, opts []Option, async bool) started {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := newConfig(opts)
	if claiming.Load() == 0 { // no Processor to claim the span: no hooks to fire
		sctx, span := cfg.tracerFor(ctx).Start(ctx, name, cfg.spanStartOptions(ctx)...)
		return started{ctx: sctx, span: span, name: name, async: async}
	}
	probe := &runProbe{Context: ctx}
	sctx, span := cfg.tracerFor(ctx).Start(probe, name, cfg.spanStartOptions(ctx)...)
	return started{probe: probe, ctx: sctx, span: span, name: name, async: async}
}

// callInfo is built only when a processor will fire hooks with it.
func (s *started) callInfo() CallInfo {
	sc := s.span.SpanContext()
	info := CallInfo{Context: s.ctx, TraceID: sc.TraceID(), SpanID: sc.SpanID(), Type: s.name, Async: s.async}
	if psc := trace.SpanContextFromContext(s.probe.Context); psc.IsValid() && psc.TraceID() == sc.TraceID() {
		info.ParentSpanID = psc.SpanID()
	}
	return info
}

// execute runs fn between the before and after hooks, records its error or panic on the span
// and ends the span. A panic is recovered and returned; a runtime.Goexit ends the span and
// goes on exiting. With no processor watching, it spends nothing on hook info or clocks.
func (s *started) execute(fn func(context.Context) error) (pe *PanicError, err error) {
	hooked := s.probe != nil && s.probe.n > 0
	var (
		info  CallInfo
		begin time.Time
	)
	if hooked {
		info = s.callInfo()
		s.probe.before(info)
		begin = time.Now()
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		after := AfterInfo{CallInfo: info}
		if hooked {
			after.Duration = time.Since(begin)
		}
		if r := recover(); r != nil {
			pe = newPanicError(s.name, r)
			recordPanic(s.span, pe)
			after.Panic = r
		} else {
			s.span.SetStatus(codes.Error, ErrGoexit.Error())
			after.Err = ErrGoexit
		}
		if hooked {
			s.probe.after(after)
		}
		s.span.End()
	}()
	err = fn(s.ctx)
	returned = true
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
	if hooked {
		s.probe.after(AfterInfo{CallInfo: info, Err: err, Duration: time.Since(begin)})
	}
	s.span.End()
	return nil, err
}

func newPanicError(name string, v any) *PanicError {
	buf := make([]byte, maxStack)
	buf = buf[:runtime.Stack(buf, false)]
	return &PanicError{Name: name, Value: v, Stack: buf}
}

func recordPanic(span trace.Span, pe *PanicError) {
	typ := "<nil>"
	if t := reflect.TypeOf(pe.Value); t != nil {
		typ = t.String()
	}
	msg := fmt.Sprint(pe.Value)
	span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
		semconv.ExceptionType(typ),
		semconv.ExceptionMessage(msg),
		semconv.ExceptionStacktrace(string(pe.Stack)),
	))
	span.SetStatus(codes.Error, "panic: "+msg)
}

// Run starts a child of the span in ctx named name, calls fn with a context holding the new
// span, and ends the span, as a Node tracer runs fn under a child span with
// AsyncLocalStorage.run. An error fn returns is recorded on the span (event and status) and
// returned. A panic is recorded with its stack, the span is ended and the panic goes on with
// its original value, so http.ErrAbortHandler and recover upstream keep working.
//
// A Processor registered with the span's tracer provider fires init and destroy for the span,
// and before and after around fn.
func Run(ctx context.Context, name string, fn func(context.Context) error, opts ...Option) error {
	if fn == nil {
		return fmt.Errorf("%w: Run(%q)", ErrNilFunc, name)
	}
	s := start(ctx, name, opts, false)
	pe, err := s.execute(fn)
	if pe != nil {
		panic(pe.Value)
	}
	return err
}

// RunValue is Run for a function that also returns a value.
func RunValue[T any](ctx context.Context, name string, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	var v T
	if fn == nil {
		return v, fmt.Errorf("%w: RunValue(%q)", ErrNilFunc, name)
	}
	err := Run(ctx, name, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	}, opts...)
	return v, err
}

// Task is a function running in its own goroutine under its own span, started by Go.
type Task struct {
	done chan struct{}
	err  error
}

// Done is closed when the task's function has returned and its span has ended.
func (t *Task) Done() <-chan struct{} { return t.done }

// Wait waits for the task and returns the error its function returned, a *PanicError if it
// panicked, or ErrGoexit.
func (t *Task) Wait() error {
	<-t.done
	return t.err
}

// Go is the async task: it starts a child of the span in ctx named name now (init fires in the
// caller, as a resource's init does in Node) and runs fn in a new goroutine under it, with the
// before and after hooks around fn. fn's error is recorded on the span. A panic in fn is
// recovered, recorded on the span with its stack, passed to the after hooks and returned by
// Wait as a *PanicError: it never takes the process down and is never lost.
//
// The goroutine stops when fn returns; fn should watch ctx. To wait for many tasks, bound how
// many run at once or cancel them together, use a Group.
func Go(ctx context.Context, name string, fn func(context.Context) error, opts ...Option) *Task {
	t := &Task{done: make(chan struct{})}
	if fn == nil {
		t.err = fmt.Errorf("%w: Go(%q)", ErrNilFunc, name)
		close(t.done)
		return t
	}
	spawn(ctx, name, fn, opts, func(err error) {
		t.err = err
		close(t.done)
	})
	return t
}

// spawn starts the span in the caller and runs fn under it in a new goroutine, which calls
// finish with the outcome as its last act.
func spawn(ctx context.Context, name string, fn func(context.Context) error, opts []Option, finish func(error)) {
	s := start(ctx, name, opts, true)
	go func() {
		res := ErrGoexit
		defer func() { finish(res) }()
		pe, err := s.execute(fn)
		if pe != nil {
			res = pe
		} else {
			res = err
		}
	}()
}

// Group runs tasks like Go, waits for them all, bounds how many run at once (WithLimit) and
// cancels its context when a task fails, in the manner of errgroup. Create it with NewGroup.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	err      error
	panicked bool
}

type groupConfig struct{ limit int }

// GroupOption configures a Group.
type GroupOption interface{ applyGroup(groupConfig) groupConfig }

type groupOptionFunc func(groupConfig) groupConfig

func (f groupOptionFunc) applyGroup(c groupConfig) groupConfig { return f(c) }

// WithLimit lets at most n of the group's tasks run at once: Group.Go blocks for a free slot
// and Group.TryGo gives up. n < 1 means no limit.
func WithLimit(n int) GroupOption {
	return groupOptionFunc(func(c groupConfig) groupConfig { c.limit = n; return c })
}

// NewGroup returns a Group and the context its tasks run with: a child of ctx, cancelled when
// a task returns an error or panics, or when Wait returns. Task spans are children of the span
// in ctx.
func NewGroup(ctx context.Context, opts ...GroupOption) (*Group, context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	var cfg groupConfig
	for _, o := range opts {
		if o != nil {
			cfg = o.applyGroup(cfg)
		}
	}
	g := &Group{}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if cfg.limit > 0 {
		g.sem = make(chan struct{}, cfg.limit)
	}
	return g, g.ctx
}

// Go runs fn as a task of the group, as the package-level Go does. With a limit it blocks until
// a slot is free; if the group's context ends first, fn is not run and the cause is the group's
// error.
func (g *Group) Go(name string, fn func(context.Context) error, opts ...Option) {
	if fn == nil {
		g.fail(fmt.Errorf("%w: Group.Go(%q)", ErrNilFunc, name), false)
		return
	}
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		case <-g.ctx.Done():
			g.fail(fmt.Errorf("spans: task %q not started: %w", name, context.Cause(g.ctx)), false)
			return
		}
	}
	g.launch(name, fn, opts)
}

// TryGo runs fn as a task of the group if a slot is free and reports whether it did.
func (g *Group) TryGo(name string, fn func(context.Context) error, opts ...Option) bool {
	if fn == nil {
		g.fail(fmt.Errorf("%w: Group.TryGo(%q)", ErrNilFunc, name), false)
		return false
	}
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.launch(name, fn, opts)
	return true
}

func (g *Group) launch(name string, fn func(context.Context) error, opts []Option) {
	g.wg.Add(1)
	spawn(g.ctx, name, fn, opts, func(err error) {
		if g.sem != nil {
			<-g.sem
		}
		if err != nil {
			var pe *PanicError
			g.fail(err, errors.As(err, &pe))
		}
		g.wg.Done()
	})
}

// fail keeps the first error, except that the first panic wins over plain errors, and cancels
// the group's context.
func (g *Group) fail(err error, panicked bool) {
	g.mu.Lock()
	if g.err == nil || (panicked && !g.panicked) {
		g.err, g.panicked = err, panicked
	}
	g.mu.Unlock()
	g.cancel(err)
}

// Wait waits for every task started so far, cancels the group's context and returns the first
// panic (*PanicError) if a task panicked, otherwise the first error. Every error is also on its
// task's span.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	g.cancel(err)
	return err
}
