package spans

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var errBoom = errors.New("boom")

func exceptionEvent(s sdktrace.ReadOnlySpan) (map[attribute.Key]string, bool) {
	for _, ev := range s.Events() {
		if ev.Name == semconv.ExceptionEventName {
			attrs := make(map[attribute.Key]string)
			for _, kv := range ev.Attributes {
				attrs[kv.Key] = kv.Value.String()
			}
			return attrs, true
		}
	}
	return nil, false
}

func TestRunRecordsOutcome(t *testing.T) {
	tests := []struct {
		name       string
		fn         func(context.Context) error
		wantErr    error
		wantStatus codes.Code
	}{
		{name: "nil error", fn: func(context.Context) error { return nil }, wantStatus: codes.Unset},
		{name: "error", fn: func(context.Context) error { return errBoom }, wantErr: errBoom, wantStatus: codes.Error},
		{
			name:       "wrapped error",
			fn:         func(context.Context) error { return fmt.Errorf("loading: %w", errBoom) },
			wantErr:    errBoom,
			wantStatus: codes.Error,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newProvider(t)
			err := Run(context.Background(), "op", tt.fn, WithTracerProvider(tp))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run error = %v, want %v", err, tt.wantErr)
			}
			ended := rec.Ended()
			if len(ended) != 1 {
				t.Fatalf("ended spans = %d, want 1", len(ended))
			}
			s := ended[0]
			if s.Status().Code != tt.wantStatus {
				t.Errorf("status = %v, want %v", s.Status().Code, tt.wantStatus)
			}
			_, hasEvent := exceptionEvent(s)
			if hasEvent != (tt.wantErr != nil) {
				t.Errorf("exception event present = %v, want %v", hasEvent, tt.wantErr != nil)
			}
			if tt.wantErr != nil && s.Status().Description != err.Error() {
				t.Errorf("status description = %q, want %q", s.Status().Description, err.Error())
			}
		})
	}
}

func TestRunValue(t *testing.T) {
	tp, rec := newProvider(t)
	v, err := RunValue(context.Background(), "answer", func(ctx context.Context) (int, error) {
		if !trace.SpanFromContext(ctx).IsRecording() {
			t.Error("fn's context holds no recording span")
		}
		return 42, nil
	}, WithTracerProvider(tp))
	if v != 42 || err != nil {
		t.Fatalf("RunValue = %d, %v; want 42, nil", v, err)
	}
	v, err = RunValue(context.Background(), "fails", func(context.Context) (int, error) { return 7, errBoom }, WithTracerProvider(tp))
	if v != 7 || !errors.Is(err, errBoom) {
		t.Fatalf("RunValue = %d, %v; want 7, boom", v, err)
	}
	if n := len(rec.Ended()); n != 2 {
		t.Fatalf("ended spans = %d, want 2", n)
	}
}

func TestRunPanicIsRecordedAndRepanics(t *testing.T) {
	customErr := errors.New("custom")
	tests := []struct {
		name  string
		value any
	}{
		{name: "string", value: "kaboom"},
		{name: "error", value: customErr},
		{name: "http.ErrAbortHandler", value: http.ErrAbortHandler},
		{name: "int", value: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newProvider(t)
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				_ = Run(context.Background(), "panics", func(context.Context) error { panic(tt.value) }, WithTracerProvider(tp))
			}()
			if recovered != tt.value {
				t.Fatalf("recovered %#v, want the original value %#v", recovered, tt.value)
			}
			ended := rec.Ended()
			if len(ended) != 1 {
				t.Fatalf("ended spans = %d, want 1 (the span must end before the panic goes on)", len(ended))
			}
			s := ended[0]
			if s.Status().Code != codes.Error || !strings.HasPrefix(s.Status().Description, "panic: ") {
				t.Errorf("status = %v %q, want Error \"panic: ...\"", s.Status().Code, s.Status().Description)
			}
			ev, ok := exceptionEvent(s)
			if !ok {
				t.Fatal("no exception event")
			}
			if ev[semconv.ExceptionMessageKey] != fmt.Sprint(tt.value) {
				t.Errorf("exception.message = %q, want %q", ev[semconv.ExceptionMessageKey], fmt.Sprint(tt.value))
			}
			if !strings.Contains(ev[semconv.ExceptionStacktraceKey], "run_test.go") {
				t.Errorf("exception.stacktrace does not show the panicking frame:\n%s", ev[semconv.ExceptionStacktraceKey])
			}
		})
	}
}

func TestRunGoexitEndsSpan(t *testing.T) {
	tp, rec := newProvider(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Run(context.Background(), "exits", func(context.Context) error {
			runtime.Goexit()
			return nil
		}, WithTracerProvider(tp))
		t.Error("Run returned after runtime.Goexit")
	}()
	<-done
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("ended spans = %d, want 1", len(ended))
	}
	if st := ended[0].Status(); st.Code != codes.Error || st.Description != ErrGoexit.Error() {
		t.Errorf("status = %v %q, want Error %q", st.Code, st.Description, ErrGoexit)
	}

	task := Go(context.Background(), "task exits", func(context.Context) error {
		runtime.Goexit()
		return nil
	}, WithTracerProvider(tp))
	if err := task.Wait(); !errors.Is(err, ErrGoexit) {
		t.Errorf("Task.Wait = %v, want ErrGoexit", err)
	}
}

func TestNilInputs(t *testing.T) {
	tp, rec := newProvider(t)
	tests := []struct {
		name string
		call func() error
	}{
		{name: "Run nil fn", call: func() error { return Run(context.Background(), "x", nil, WithTracerProvider(tp)) }},
		{name: "RunValue nil fn", call: func() error {
			_, err := RunValue[int](context.Background(), "x", nil, WithTracerProvider(tp))
			return err
		}},
		{name: "Go nil fn", call: func() error { return Go(context.Background(), "x", nil, WithTracerProvider(tp)).Wait() }},
		{name: "Group.Go nil fn", call: func() error {
			g, _ := NewGroup(context.Background())
			g.Go("x", nil)
			return g.Wait()
		}},
		{name: "Group.TryGo nil fn", call: func() error {
			g, _ := NewGroup(context.Background())
			if g.TryGo("x", nil) {
				t.Error("TryGo(nil) reported it ran")
			}
			return g.Wait()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNilFunc) {
				t.Fatalf("error = %v, want ErrNilFunc", err)
			}
		})
	}
	if n := len(rec.Started()); n != 0 {
		t.Errorf("%d spans started for nil functions, want 0", n)
	}

	//lint:ignore SA1012 a nil context is the bad input under test: it must not panic
	if err := Run(nil, "nil ctx", func(ctx context.Context) error {
		if ctx == nil {
			return errors.New("fn got a nil context")
		}
		return nil
	}, WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1012 as above
	if _, gctx := NewGroup(nil); gctx == nil {
		t.Fatal("NewGroup(nil) returned a nil context")
	}
}

func TestParentIDsThroughNestedRunAndGo(t *testing.T) {
	tp, rec := newProvider(t)
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	seen := map[string]IDs{}
	var mu sync.Mutex
	note := func(name string, ctx context.Context) {
		mu.Lock()
		seen[name] = IDsFrom(ctx)
		mu.Unlock()
	}
	err := Run(ctx, "a", func(ctx context.Context) error {
		note("a", ctx)
		return Run(ctx, "b", func(ctx context.Context) error {
			note("b", ctx)
			return Go(ctx, "c", func(ctx context.Context) error {
				note("c", ctx)
				_, err := RunValue(ctx, "d", func(ctx context.Context) (struct{}, error) {
					note("d", ctx)
					g, gctx := NewGroup(ctx)
					g.Go("e", func(ctx context.Context) error { note("e", ctx); return nil })
					_ = gctx
					return struct{}{}, g.Wait()
				})
				return err
			}).Wait()
		})
	})
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	ended := endedByName(t, rec)
	parentOf := map[string]string{"a": "root", "b": "a", "c": "b", "d": "c", "e": "d"}
	for child, parent := range parentOf {
		c, p := ended[child], ended[parent]
		if c == nil || p == nil {
			t.Fatalf("span %q or %q not recorded", child, parent)
		}
		if got, want := c.Parent().SpanID(), p.SpanContext().SpanID(); got != want {
			t.Errorf("%s: recorded parent = %s, want %s (%s)", child, got, want, parent)
		}
		if c.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("%s: trace ID = %s, want the root's", child, c.SpanContext().TraceID())
		}
		ids := seen[child]
		if ids.SpanID != c.SpanContext().SpanID() || ids.ParentSpanID != p.SpanContext().SpanID() ||
			ids.TraceID != root.SpanContext().TraceID() {
			t.Errorf("%s: IDsFrom(ctx) = %+v, want span %s parent %s", child, ids, c.SpanContext().SpanID(), p.SpanContext().SpanID())
		}
	}
}

func TestTracerChoice(t *testing.T) {
	parentTP, parentRec := newProvider(t)
	optTP, optRec := newProvider(t)

	ctx, root := parentTP.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	if err := Run(ctx, "follows parent", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, "option wins", func(context.Context) error { return nil }, WithTracerProvider(optTP)); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, "tracer wins", func(context.Context) error { return nil },
		WithTracerProvider(parentTP), WithTracer(optTP.Tracer("mine"))); err != nil {
		t.Fatal(err)
	}
	if _, ok := endedByName(t, parentRec)["follows parent"]; !ok {
		t.Error("a child without options did not use its parent's provider")
	}
	opt := endedByName(t, optRec)
	if s, ok := opt["option wins"]; !ok || s.InstrumentationScope().Name != TracerName {
		t.Errorf("WithTracerProvider: span missing or scope wrong: %v", ok)
	}
	if s, ok := opt["tracer wins"]; !ok || s.InstrumentationScope().Name != "mine" {
		t.Errorf("WithTracer: span missing or scope wrong: %v", ok)
	}

	// A remote parent (extracted from headers) is continued, with the provider given.
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	rctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	if err := Run(rctx, "remote child", func(ctx context.Context) error {
		if ids := IDsFrom(ctx); ids.TraceID != remote.TraceID() || ids.ParentSpanID != remote.SpanID() {
			return fmt.Errorf("IDs = %+v, want the remote trace and parent", ids)
		}
		return nil
	}, WithTracerProvider(optTP)); err != nil {
		t.Fatal(err)
	}
}

func TestRunOptions(t *testing.T) {
	tp, rec := newProvider(t)
	ctx := otelctx.AddFields(context.Background(), attribute.String("tenant", "acme"), attribute.Int("shard", 3))
	link := trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9},
	})}
	err := Run(ctx, "opts", func(context.Context) error { return nil },
		WithTracerProvider(tp), WithKind(trace.SpanKindClient), WithFields(),
		WithAttributes(attribute.String("db.system", "sqlite")), WithSpanOptions(trace.WithLinks(link)))
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Ended()[0]
	if s.SpanKind() != trace.SpanKindClient {
		t.Errorf("kind = %v, want client", s.SpanKind())
	}
	got := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		got[kv.Key] = kv.Value.String()
	}
	for k, v := range map[attribute.Key]string{"tenant": "acme", "shard": "3", "db.system": "sqlite"} {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
	if len(s.Links()) != 1 || s.Links()[0].SpanContext.TraceID() != link.SpanContext.TraceID() {
		t.Errorf("links = %v, want the one given", s.Links())
	}
}

func TestGoPanicIsReportedNotLost(t *testing.T) {
	tp, rec := newProvider(t)
	task := Go(context.Background(), "bg", func(context.Context) error { panic(errBoom) }, WithTracerProvider(tp))
	<-task.Done()
	err := task.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want a *PanicError", err)
	}
	if pe.Name != "bg" || pe.Value != errBoom || !errors.Is(err, errBoom) {
		t.Errorf("PanicError = %+v, want name bg, value boom, unwrapping to boom", pe)
	}
	if !strings.Contains(string(pe.Stack), "run_test.go") || len(pe.Stack) > maxStack {
		t.Errorf("stack (%d bytes) does not show the panicking frame or is over the cap", len(pe.Stack))
	}
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("ended spans = %d, want 1", len(ended))
	}
	if _, ok := exceptionEvent(ended[0]); !ok || ended[0].Status().Code != codes.Error {
		t.Error("the panic is not recorded on the task's span")
	}
}

func TestGroupLimit(t *testing.T) {
	tp, _ := newProvider(t)
	g, _ := NewGroup(context.Background(), WithLimit(2))
	gate := make(chan struct{})
	started := make(chan struct{}, 6)
	var running, peak atomic.Int32
	task := func(context.Context) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- struct{}{}
		<-gate
		running.Add(-1)
		return nil
	}
	launched := make(chan struct{})
	go func() {
		defer close(launched)
		for i := range 6 {
			g.Go(fmt.Sprintf("task %d", i), task, WithTracerProvider(tp))
		}
	}()
	<-started
	<-started // two tasks hold both slots; the launcher is blocked on the third
	if g.TryGo("extra", task, WithTracerProvider(tp)) {
		t.Error("TryGo ran a task with the limit reached")
	}
	close(gate)
	<-launched
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency = %d, want 2 (the limit)", p)
	}
	if !g.TryGo("after", func(context.Context) error { return nil }, WithTracerProvider(tp)) {
		t.Error("TryGo refused with free slots")
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupErrors(t *testing.T) {
	tp, _ := newProvider(t)
	t.Run("first error cancels the group", func(t *testing.T) {
		g, gctx := NewGroup(context.Background())
		g.Go("fails", func(context.Context) error { return errBoom }, WithTracerProvider(tp))
		g.Go("waits", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, WithTracerProvider(tp))
		if err := g.Wait(); !errors.Is(err, errBoom) {
			t.Fatalf("Wait = %v, want boom", err)
		}
		if cause := context.Cause(gctx); !errors.Is(cause, errBoom) {
			t.Errorf("group context cause = %v, want boom", cause)
		}
	})
	t.Run("a panic wins over an earlier error", func(t *testing.T) {
		g, _ := NewGroup(context.Background())
		g.Go("fails", func(context.Context) error { return errBoom }, WithTracerProvider(tp))
		g.Go("panics", func(ctx context.Context) error { <-ctx.Done(); panic("late") }, WithTracerProvider(tp))
		err := g.Wait()
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "late" {
			t.Fatalf("Wait = %v, want the panic", err)
		}
	})
	t.Run("no slot before the group's context ends", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		g, _ := NewGroup(parent, WithLimit(1))
		gate := make(chan struct{})
		g.Go("holds the slot", func(context.Context) error { <-gate; return nil }, WithTracerProvider(tp))
		cancel()
		ran := false
		g.Go("second", func(context.Context) error { ran = true; return nil }, WithTracerProvider(tp)) // must not block
		close(gate)
		err := g.Wait()
		if ran {
			t.Error("a task ran after the group's context ended")
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"second" not started`) {
			t.Fatalf("Wait = %v, want the refused task's context.Canceled", err)
		}
	})
}

func TestTaskDone(t *testing.T) {
	tp, _ := newProvider(t)
	release := make(chan struct{})
	task := Go(context.Background(), "slow", func(context.Context) error { <-release; return errBoom }, WithTracerProvider(tp))
	select {
	case <-task.Done():
		t.Fatal("Done closed while the task was blocked")
	default:
	}
	close(release)
	select {
	case <-task.Done():
	case <-time.After(time.Minute):
		t.Fatal("Done never closed")
	}
	if err := task.Wait(); !errors.Is(err, errBoom) {
		t.Fatalf("Wait = %v, want boom", err)
	}
}
