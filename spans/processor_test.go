package spans

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// event is one hook call as a test sees it.
type event struct {
	kind   string // init, before, after, destroy
	name   string
	span   trace.SpanID
	parent trace.SpanID
	async  bool
	err    error
	panic  any
	status codes.Code
}

// journal records hook calls from any goroutine.
type journal struct {
	mu     sync.Mutex
	events []event
}

func (j *journal) add(e event) {
	j.mu.Lock()
	j.events = append(j.events, e)
	j.mu.Unlock()
}

func (j *journal) all() []event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.events)
}

// of returns the kinds of the events for one span name, in order.
func (j *journal) of(name string) []string {
	var out []string
	for _, e := range j.all() {
		if e.name == name {
			out = append(out, e.kind)
		}
	}
	return out
}

func (j *journal) hooks() Hooks {
	return Hooks{
		Init: func(i InitInfo) {
			j.add(event{kind: "init", name: i.Type(), span: i.SpanID(), parent: i.ParentSpanID()})
		},
		Before: func(c CallInfo) {
			j.add(event{kind: "before", name: c.Type, span: c.SpanID, parent: c.ParentSpanID, async: c.Async})
		},
		After: func(a AfterInfo) {
			j.add(event{kind: "after", name: a.Type, span: a.SpanID, parent: a.ParentSpanID, async: a.Async, err: a.Err, panic: a.Panic})
		},
		Destroy: func(d DestroyInfo) {
			j.add(event{kind: "destroy", name: d.Type(), span: d.SpanID(), parent: d.ParentSpanID(), status: d.Status().Code})
		},
	}
}

var lifecycle = []string{"init", "before", "after", "destroy"}

func TestHookOrder(t *testing.T) {
	tests := []struct {
		name  string
		async bool
		run   func(ctx context.Context, tp trace.TracerProvider, fn func(context.Context) error) error
	}{
		{name: "Run", run: func(ctx context.Context, tp trace.TracerProvider, fn func(context.Context) error) error {
			return Run(ctx, "work", fn, WithTracerProvider(tp))
		}},
		{name: "RunValue", run: func(ctx context.Context, tp trace.TracerProvider, fn func(context.Context) error) error {
			_, err := RunValue(ctx, "work", func(ctx context.Context) (int, error) { return 1, fn(ctx) }, WithTracerProvider(tp))
			return err
		}},
		{name: "Go", async: true, run: func(ctx context.Context, tp trace.TracerProvider, fn func(context.Context) error) error {
			return Go(ctx, "work", fn, WithTracerProvider(tp)).Wait()
		}},
		{name: "Group.Go", async: true, run: func(ctx context.Context, tp trace.TracerProvider, fn func(context.Context) error) error {
			g, _ := NewGroup(ctx)
			g.Go("work", fn, WithTracerProvider(tp))
			return g.Wait()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j journal
			p := NewProcessor(WithHooks(j.hooks()))
			tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
			ctx, root := tp.Tracer("test").Start(context.Background(), "root")
			err := tt.run(ctx, tp, func(ctx context.Context) error {
				j.add(event{kind: "fn", name: "work"})
				return errBoom
			})
			root.End()
			if !errors.Is(err, errBoom) {
				t.Fatalf("error = %v, want boom", err)
			}
			want := []string{"init", "before", "fn", "after", "destroy"}
			if got := j.of("work"); !slices.Equal(got, want) {
				t.Fatalf("events = %v, want %v", got, want)
			}
			var span trace.SpanID
			for _, e := range j.all() {
				if e.name != "work" || e.kind == "fn" {
					continue
				}
				if span == (trace.SpanID{}) {
					span = e.span
				}
				if e.span != span || e.parent != root.SpanContext().SpanID() {
					t.Errorf("%s: span %s parent %s, want span %s parent %s (root)", e.kind, e.span, e.parent, span, root.SpanContext().SpanID())
				}
				if (e.kind == "before" || e.kind == "after") && e.async != tt.async {
					t.Errorf("%s: Async = %v, want %v", e.kind, e.async, tt.async)
				}
				if e.kind == "after" && !errors.Is(e.err, errBoom) {
					t.Errorf("after: Err = %v, want boom", e.err)
				}
				if e.kind == "destroy" && e.status != codes.Error {
					t.Errorf("destroy: status = %v, want Error", e.status)
				}
			}
			if got := j.of("root"); !slices.Equal(got, []string{"init", "destroy"}) {
				t.Errorf("plain span events = %v, want [init destroy]: before/after belong to Run and Go", got)
			}
		})
	}
}

func TestHookInitFiresInCallerForGo(t *testing.T) {
	var j journal
	p := NewProcessor(WithHooks(j.hooks()))
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	gate := make(chan struct{})
	task := Go(context.Background(), "task", func(context.Context) error { <-gate; return nil }, WithTracerProvider(tp))
	if got := j.of("task"); len(got) == 0 || got[0] != "init" {
		t.Errorf("events when Go returned = %v, want init first", got)
	}
	close(gate)
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := j.of("task"); !slices.Equal(got, lifecycle) {
		t.Fatalf("events = %v, want %v", got, lifecycle)
	}
}

func TestHookPanicInfo(t *testing.T) {
	var j journal
	p := NewProcessor(WithHooks(j.hooks()))
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	func() {
		defer func() { _ = recover() }()
		_ = Run(context.Background(), "sync", func(context.Context) error { panic("sync panic") }, WithTracerProvider(tp))
	}()
	_ = Go(context.Background(), "async", func(context.Context) error { panic("async panic") }, WithTracerProvider(tp)).Wait()
	for name, want := range map[string]string{"sync": "sync panic", "async": "async panic"} {
		if got := j.of(name); !slices.Equal(got, lifecycle) {
			t.Errorf("%s: events = %v, want %v", name, got, lifecycle)
		}
		for _, e := range j.all() {
			if e.name == name && e.kind == "after" && e.panic != want {
				t.Errorf("%s: after Panic = %v, want %q", name, e.panic, want)
			}
			if e.name == name && e.kind == "destroy" && e.status != codes.Error {
				t.Errorf("%s: destroy status = %v, want Error", name, e.status)
			}
		}
	}
}

func TestHookParentIDsNested(t *testing.T) {
	var j journal
	p := NewProcessor(WithHooks(j.hooks()))
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	err := Run(context.Background(), "a", func(ctx context.Context) error {
		return Go(ctx, "b", func(ctx context.Context) error {
			return Run(ctx, "c", func(ctx context.Context) error {
				g, _ := NewGroup(ctx)
				g.Go("d", func(context.Context) error { return nil })
				return g.Wait()
			})
		}).Wait()
	}, WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]trace.SpanID{}
	parents := map[string]trace.SpanID{}
	for _, e := range j.all() {
		if e.kind == "init" {
			ids[e.name], parents[e.name] = e.span, e.parent
		}
	}
	if parents["a"].IsValid() {
		t.Errorf("a is a root, but init says its parent is %s", parents["a"])
	}
	for child, parent := range map[string]string{"b": "a", "c": "b", "d": "c"} {
		if parents[child] != ids[parent] || !ids[parent].IsValid() {
			t.Errorf("init %s: ParentSpanID = %s, want %s's span %s", child, parents[child], parent, ids[parent])
		}
		if got := j.of(child); !slices.Equal(got, lifecycle) {
			t.Errorf("%s: events = %v, want %v", child, got, lifecycle)
		}
		for _, e := range j.all() {
			if e.name == child && e.parent != ids[parent] {
				t.Errorf("%s %s: parent = %s, want %s", child, e.kind, e.parent, ids[parent])
			}
		}
	}
}

// runAll runs one Run, one Go and one plain span.
func runAll(t *testing.T, tp trace.TracerProvider) {
	t.Helper()
	if err := Run(context.Background(), "run", func(context.Context) error { return nil }, WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	if err := Go(context.Background(), "go", func(context.Context) error { return nil }, WithTracerProvider(tp)).Wait(); err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("test").Start(context.Background(), "plain")
	s.End()
}

func TestDisabledProcessorFiresNothing(t *testing.T) {
	tests := []struct {
		name    string
		opts    []ProcessorOption
		disable bool
	}{
		{name: "Disable", disable: true},
		{name: "WithDisabled", opts: []ProcessorOption{WithDisabled()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j journal
			p := NewProcessor(append(tt.opts, WithHooks(j.hooks()))...)
			if tt.disable {
				p.Disable()
			}
			if p.Enabled() {
				t.Fatal("Enabled() = true after disabling")
			}
			tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
			runAll(t, tp)
			if ev := j.all(); len(ev) != 0 {
				t.Fatalf("a disabled processor fired %d hooks: %v", len(ev), ev)
			}
			p.Enable()
			runAll(t, tp)
			if got := j.of("run"); !slices.Equal(got, lifecycle) {
				t.Fatalf("after Enable, run events = %v, want %v", got, lifecycle)
			}
		})
	}
}

func TestDisableMidSpan(t *testing.T) {
	var j journal
	p := NewProcessor(WithHooks(j.hooks()))
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	err := Run(context.Background(), "work", func(context.Context) error {
		p.Disable()
		return nil
	}, WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	if got := j.of("work"); !slices.Equal(got, []string{"init", "before"}) {
		t.Fatalf("events = %v, want [init before]: nothing after Disable", got)
	}
}

func TestRemovedHookFiresNothing(t *testing.T) {
	var kept, removed journal
	p := NewProcessor()
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	removeKept := p.AddHooks(kept.hooks())
	remove := p.AddHooks(removed.hooks())
	remove()
	remove() // harmless
	runAll(t, tp)
	if ev := removed.all(); len(ev) != 0 {
		t.Fatalf("a removed hook fired %d times: %v", len(ev), ev)
	}
	if got := kept.of("go"); !slices.Equal(got, lifecycle) {
		t.Fatalf("kept hook: go events = %v, want %v", got, lifecycle)
	}
	removeKept()
	before := len(kept.all())
	runAll(t, tp)
	if after := len(kept.all()); after != before {
		t.Fatalf("hook fired %d times after its removal", after-before)
	}

	// Hooks with only some funcs set fire only those.
	var inits atomic.Int32
	p.AddHooks(Hooks{Init: func(InitInfo) { inits.Add(1) }})
	runAll(t, tp)
	if n := inits.Load(); n != 3 {
		t.Fatalf("init-only hook fired %d times for 3 spans, want 3", n)
	}
}

func TestTwoProcessorsBothFire(t *testing.T) {
	var j1, j2 journal
	p1 := NewProcessor(WithHooks(j1.hooks()))
	p2 := NewProcessor(WithHooks(j2.hooks()))
	// Three more processors run the probe past its inline slots.
	extra := make([]*journal, 3)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(p1), sdktrace.WithSpanProcessor(p2)}
	for i := range extra {
		extra[i] = &journal{}
		opts = append(opts, sdktrace.WithSpanProcessor(NewProcessor(WithHooks(extra[i].hooks()))))
	}
	tp, _ := newProvider(t, opts...)
	runAll(t, tp)
	for i, j := range append([]*journal{&j1, &j2}, extra...) {
		if got := j.of("run"); !slices.Equal(got, lifecycle) {
			t.Errorf("processor %d: run events = %v, want %v", i, got, lifecycle)
		}
	}
}

func TestProcessorShutdown(t *testing.T) {
	var j journal
	p := NewProcessor(WithHooks(j.hooks()))
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Enable()
	if p.Enabled() {
		t.Fatal("Enable after Shutdown turned the processor back on")
	}
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(p))
	runAll(t, tp)
	if ev := j.all(); len(ev) != 0 {
		t.Fatalf("a shut down processor fired %d hooks", len(ev))
	}
}

// TestHooksChangeConcurrently adds and removes hooks and flips a processor on and off while
// spans run. A second processor, never touched, must see every event of every span exactly.
func TestHooksChangeConcurrently(t *testing.T) {
	flipped := NewProcessor()
	var counts [4]atomic.Int64
	steady := NewProcessor(WithHooks(Hooks{
		Init:    func(InitInfo) { counts[0].Add(1) },
		Before:  func(CallInfo) { counts[1].Add(1) },
		After:   func(AfterInfo) { counts[2].Add(1) },
		Destroy: func(DestroyInfo) { counts[3].Add(1) },
	}))
	tp, _ := newProvider(t, sdktrace.WithSpanProcessor(flipped), sdktrace.WithSpanProcessor(steady))

	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(2)
	go func() {
		defer churn.Done()
		var fired atomic.Int64
		h := Hooks{
			Init: func(InitInfo) { fired.Add(1) }, Before: func(CallInfo) { fired.Add(1) },
			After: func(AfterInfo) { fired.Add(1) }, Destroy: func(DestroyInfo) { fired.Add(1) },
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			removeA := flipped.AddHooks(h)
			removeB := flipped.AddHooks(h)
			runtime.Gosched()
			removeA()
			runtime.Gosched()
			removeB()
		}
	}()
	go func() {
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			flipped.Disable()
			flipped.Enable()
		}
	}()

	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				if i%2 == 0 {
					_ = Run(context.Background(), name, func(context.Context) error { return nil }, WithTracerProvider(tp))
				} else {
					_ = Go(context.Background(), name, func(context.Context) error { return nil }, WithTracerProvider(tp)).Wait()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	for i := range counts {
		if n := counts[i].Load(); n != workers*each {
			t.Errorf("steady processor %s fired %d times, want %d", lifecycle[i], n, workers*each)
		}
	}
}
