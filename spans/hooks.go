package spans

import (
	"context"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Hooks are callbacks on the life of a span, Go's async resource: the createHook({init, before,
// after, destroy}) of Node's async_hooks in the shape of net/http/httptrace.ClientTrace. Any
// field may be nil. Register them with Processor.AddHooks.
//
// Hooks may be called concurrently from many goroutines and run synchronously on the path of
// the traced code, so they must be quick, must not block and must not panic. The info structs
// are values; keep what you need from them, not the structs (they hold the span and context).
type Hooks struct {
	// Init is called when a span starts (recording spans only; see the package doc).
	Init func(InitInfo)
	// Before is called just before the function given to Run, RunValue or Go runs, in the
	// goroutine that runs it.
	Before func(CallInfo)
	// After is called just after that function returns or panics, before its span ends.
	After func(AfterInfo)
	// Destroy is called when a span ends.
	Destroy func(DestroyInfo)
}

// InitInfo describes a span that has just started. Init runs for every span, so InitInfo
// reads the span only when a method asks; a hook that looks at nothing costs nothing.
type InitInfo struct {
	// Context is the parent context the span was started with: the request's context, with its
	// values (otelctx keys, the request store).
	Context context.Context
	// Span is the span itself. A hook may set attributes on it; it must not end it.
	Span sdktrace.ReadWriteSpan
}

// TraceID returns the span's trace ID.
func (i InitInfo) TraceID() trace.TraceID { return i.Span.SpanContext().TraceID() }

// SpanID returns the span's ID, what async_hooks in Node calls the resource's asyncId.
func (i InitInfo) SpanID() trace.SpanID { return i.Span.SpanContext().SpanID() }

// ParentSpanID returns the parent span's ID, async_hooks' triggerAsyncId; zero for a root span.
func (i InitInfo) ParentSpanID() trace.SpanID {
	if i.Context != nil {
		// The SDK took the parent from this context (a new root has a new trace ID); reading it
		// here spares the span's lock that Span.Parent() takes.
		if psc := trace.SpanContextFromContext(i.Context); psc.IsValid() && psc.TraceID() == i.TraceID() {
			return psc.SpanID()
		}
		return trace.SpanID{}
	}
	return i.Span.Parent().SpanID()
}

// Type returns the span name: the resource type of async_hooks.
func (i InitInfo) Type() string { return i.Span.Name() }

// Kind returns the span kind.
func (i InitInfo) Kind() trace.SpanKind { return i.Span.SpanKind() }

// Start returns the span's start time.
func (i InitInfo) Start() time.Time { return i.Span.StartTime() }

// CallInfo describes the function Run, RunValue or Go runs under a span.
type CallInfo struct {
	Context      context.Context // the context the function runs with; it holds the span
	TraceID      trace.TraceID
	SpanID       trace.SpanID
	ParentSpanID trace.SpanID
	Type         string // the span name
	Async        bool   // true for Go and Group.Go: the function runs in its own goroutine
}

// AfterInfo describes the function of a CallInfo after it has returned or panicked.
type AfterInfo struct {
	CallInfo
	Err      error         // what the function returned; ErrGoexit if it called runtime.Goexit
	Panic    any           // the recovered panic value, nil when the function returned
	Duration time.Duration // how long the function ran
}

// DestroyInfo describes a span that has just ended. Like InitInfo it reads the span only when
// a method asks.
type DestroyInfo struct {
	// Span is the ended span, read-only: everything the exporters will see.
	Span sdktrace.ReadOnlySpan
}

// TraceID returns the span's trace ID.
func (d DestroyInfo) TraceID() trace.TraceID { return d.Span.SpanContext().TraceID() }

// SpanID returns the span's ID.
func (d DestroyInfo) SpanID() trace.SpanID { return d.Span.SpanContext().SpanID() }

// ParentSpanID returns the parent span's ID; zero for a root span.
func (d DestroyInfo) ParentSpanID() trace.SpanID {
	if psc := d.Span.Parent(); psc.IsValid() && psc.TraceID() == d.TraceID() {
		return psc.SpanID()
	}
	return trace.SpanID{}
}

// Type returns the span name at its end.
func (d DestroyInfo) Type() string { return d.Span.Name() }

// Kind returns the span kind.
func (d DestroyInfo) Kind() trace.SpanKind { return d.Span.SpanKind() }

// Duration returns how long the span lasted.
func (d DestroyInfo) Duration() time.Duration { return d.Span.EndTime().Sub(d.Span.StartTime()) }

// Status returns the span's status: Unset, Ok or Error with a description.
func (d DestroyInfo) Status() sdktrace.Status { return d.Span.Status() }

// hookList is one immutable version of a Processor's hooks, split by event so that the hot path
// loops only over funcs that are set. Writers build a new list; readers load it atomically. A
// nil *hookList is the empty list.
type hookList struct {
	entries []hookEntry
	init    []func(InitInfo)
	before  []func(CallInfo)
	after   []func(AfterInfo)
	destroy []func(DestroyInfo)
}

type hookEntry struct {
	id    uint64
	hooks Hooks
}

func newHookList(entries []hookEntry) *hookList {
	if len(entries) == 0 {
		return nil
	}
	l := &hookList{entries: entries}
	for _, e := range entries {
		if e.hooks.Init != nil {
			l.init = append(l.init, e.hooks.Init)
		}
		if e.hooks.Before != nil {
			l.before = append(l.before, e.hooks.Before)
		}
		if e.hooks.After != nil {
			l.after = append(l.after, e.hooks.After)
		}
		if e.hooks.Destroy != nil {
			l.destroy = append(l.destroy, e.hooks.Destroy)
		}
	}
	return l
}

func (l *hookList) all() []hookEntry {
	if l == nil {
		return nil
	}
	return l.entries
}

func (l *hookList) with(e hookEntry) *hookList {
	entries := make([]hookEntry, 0, len(l.all())+1)
	return newHookList(append(append(entries, l.all()...), e))
}

func (l *hookList) without(id uint64) *hookList {
	entries := make([]hookEntry, 0, len(l.all()))
	for _, e := range l.all() {
		if e.id != id {
			entries = append(entries, e)
		}
	}
	return newHookList(entries)
}
