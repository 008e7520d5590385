package trail

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ReportIDKey is the attribute that ties the exception event Capture records on the span to
// the report's ID.
const ReportIDKey = attribute.Key("ctxtrail.report.id")

// Report is what Capture builds from an error and the context it happened in. Its JSON (and
// the fields of the log line trailzap.NewLogSink writes) is documented in the package doc. A
// Report is shared between the caller of Capture and the sink: treat it as read-only.
type Report struct {
	ID          string      // 32 random hex digits
	Time        time.Time   // when Capture was called
	Message     string      // the error's message, at most MaxErrorMessageLen bytes
	Panic       bool        // captured from a panic (CapturePanic, or a *spans.PanicError in the chain)
	Errors      []ErrorInfo // the error chain, outermost first, depth-first through errors.Join
	Truncated   bool        // the chain was cut at MaxErrors entries or MaxErrorDepth levels
	StackSource string      // StackFromCapture, StackFromError or StackFromPanic
	Stack       []Frame     // innermost call first, at most WithMaxFrames frames

	TraceID   string // of the span in the context, when valid
	SpanID    string
	RequestID string // otelctx.RequestID
	// Context holds the request-store fields named by WithFieldKeys, in that order.
	Context []attribute.KeyValue

	Breadcrumbs        []Breadcrumb // the trail's crumbs, oldest first
	BreadcrumbsDropped int          // crumbs the trail's caps dropped before the capture

	// Err is the captured error (for a panic whose value is not an error, a *PanicError). It
	// is not part of the JSON.
	Err error
}

// ErrorInfo is one error of a report's chain.
type ErrorInfo struct {
	Type    string `json:"type"`    // the dynamic Go type, as %T prints it
	Message string `json:"message"` // its Error(), at most MaxErrorMessageLen bytes
	Depth   int    `json:"depth"`   // 0 for the captured error, its causes 1, theirs 2...
}

// PanicError is the error of a report captured from a panic whose value is not an error.
type PanicError struct{ Value any }

// Error describes the panic.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Capture builds a report of err in ctx, records err on the span in ctx (an exception event
// carrying the report's ID, and status Error) and sends the report to the sink of the trail in
// ctx, then returns it. The report holds err's chain with type names (errors.Unwrap and
// errors.Join, bounded), a stack (the deepest StackTracer's in the chain, or Capture's
// caller's), the trace and span IDs, the request ID and the request-store fields named by
// WithFieldKeys, and the trail's breadcrumbs.
//
// Sending never blocks on a slow sink's output (see Sink). On a context without a trail the
// report has no breadcrumbs and is sent nowhere. Capture(ctx, nil) does nothing and returns nil.
func Capture(ctx context.Context, err error) *Report {
	if err == nil {
		return nil
	}
	return capture(ctx, err, false)
}

// CapturePanic is Capture for a recovered panic value, and must be called by the deferred
// function that recovered it, so that the report's stack starts where the panic was raised:
//
//	defer func() {
//		if v := recover(); v != nil {
//			trail.CapturePanic(ctx, v)
//		}
//	}()
//
// A value that is an error is captured as that error, anything else as a *PanicError; either
// way the report is marked as a panic. CapturePanic(ctx, nil) does nothing and returns nil.
func CapturePanic(ctx context.Context, v any) *Report {
	if v == nil {
		return nil
	}
	err, ok := v.(error)
	if !ok {
		err = &PanicError{Value: v}
	}
	return capture(ctx, err, true)
}

// capture must be called directly by Capture or CapturePanic: its stack skip counts on it.
func capture(ctx context.Context, err error, panicked bool) *Report {
	if ctx == nil {
		ctx = context.Background()
	}
	t := FromContext(ctx)
	var cfg *config
	if t != nil {
		cfg = t.cfg
	} else {
		cfg = defaultConfig()
	}
	r := &Report{
		ID:        otelctx.NewRequestID(),
		Time:      time.Now().UTC(),
		Message:   boundString(errorMessage(err), MaxErrorMessageLen),
		Panic:     panicked,
		RequestID: boundString(otelctx.RequestID(ctx), MaxMessageLen),
		Err:       err,
	}
	r.Errors, r.Truncated = chainOf(err)
	for _, e := range r.Errors {
		if e.Type == "*spans.PanicError" {
			r.Panic = true
		}
	}

	if cfg.maxFrames > 0 {
		r.Stack, r.StackSource = errorStack(err, cfg.maxFrames)
		if r.StackSource == "" {
			var pcs [MaxFrames]uintptr
			// 0 is runtime.Callers, 1 capture, 2 Capture or CapturePanic, 3 their caller.
			if panicked {
				r.Stack, r.StackSource = panicFrames(pcs[:runtime.Callers(3, pcs[:])], cfg.maxFrames), StackFromPanic
			} else {
				r.Stack, r.StackSource = framesOf(pcs[:runtime.Callers(3, pcs[:cfg.maxFrames])], cfg.maxFrames), StackFromCapture
			}
		}
	}

	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.TraceID, r.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	r.Context = contextFields(ctx, cfg.fieldKeys, t.fieldSnapshot())
	if t != nil {
		r.Breadcrumbs, r.BreadcrumbsDropped = t.snapshot()
	}

	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		typ := "<nil>"
		if len(r.Errors) > 0 {
			typ = r.Errors[0].Type
		}
		span.AddEvent(semconv.ExceptionEventName, trace.WithTimestamp(r.Time), trace.WithAttributes(
			semconv.ExceptionType(typ),
			semconv.ExceptionMessage(r.Message),
			semconv.ExceptionStacktrace(formatStack(r.Stack)),
			ReportIDKey.String(r.ID),
		))
		span.SetStatus(codes.Error, r.Message)
	}
	if cfg.sink != nil {
		cfg.sink.Send(ctx, r)
	}
	return r
}

// contextFields reads keys from ctx's request store, with the values set through AddFields on
// the trail winning, since they may be newer than what an outer ctx holds. http.route, which
// the otelctx middleware keeps beside the store rather than in it, comes from otelctx.Route
// when neither has it.
func contextFields(ctx context.Context, keys []attribute.Key, fromTrail []attribute.KeyValue) []attribute.KeyValue {
	store := otelctx.FieldsFrom(ctx)
	var out []attribute.KeyValue
	for _, k := range keys {
		v, ok := store.Get(k)
		for _, kv := range fromTrail {
			if kv.Key == k {
				v, ok = kv.Value, true
			}
		}
		if !ok && k == semconv.HTTPRouteKey {
			if route := otelctx.Route(ctx); route != "" {
				v, ok = attribute.StringValue(route), true
			}
		}
		if !ok {
			continue
		}
		if v.Type() == attribute.STRING {
			v = attribute.StringValue(boundString(v.AsString(), MaxMessageLen))
		}
		out = append(out, attribute.KeyValue{Key: k, Value: v})
	}
	return out
}

// chainOf walks err's chain depth-first, outermost first, and reports whether it was cut.
func chainOf(err error) ([]ErrorInfo, bool) {
	var out []ErrorInfo
	truncated := walkChain(err, func(e error, depth int) {
		if _, ok := e.(*stackError); ok {
			return // a bare stack annotation: its cause follows with the same message
		}
		info := ErrorInfo{Type: typeName(e), Message: boundString(errorMessage(e), MaxErrorMessageLen), Depth: depth}
		if pe, ok := e.(*PanicError); ok {
			info.Type = typeName(pe.Value)
			info.Message = boundString(fmt.Sprint(pe.Value), MaxErrorMessageLen)
		}
		out = append(out, info)
	})
	return out, truncated
}

// walkChain calls fn for err and its causes, depth-first, at most MaxErrors errors and
// MaxErrorDepth levels deep, and reports whether it had to stop early. An Unwrap method that
// panics (on a nil receiver, say) ends that branch.
func walkChain(err error, fn func(e error, depth int)) (truncated bool) {
	seen := 0
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil {
			return
		}
		if seen >= MaxErrors || depth >= MaxErrorDepth {
			truncated = true
			return
		}
		seen++
		fn(e, depth)
		if _, ok := e.(*stackError); ok {
			depth-- // the annotation does not count as a level
		}
		for _, cause := range unwrap(e) {
			walk(cause, depth+1)
		}
	}
	walk(err, 0)
	return truncated
}

func unwrap(e error) (causes []error) {
	defer func() {
		if recover() != nil {
			causes = nil
		}
	}()
	switch x := e.(type) {
	case interface{ Unwrap() []error }:
		return x.Unwrap()
	case interface{ Unwrap() error }:
		if c := x.Unwrap(); c != nil {
			return []error{c}
		}
	}
	return nil
}

// errorMessage is e.Error(), or a description of the panic that Error raised.
func errorMessage(e error) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprintf("<%T.Error panicked: %v>", e, v)
		}
	}()
	return e.Error()
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "<nil>"
	}
	return t.String()
}

// formatStack writes frames as Go prints a goroutine's stack, for exception.stacktrace.
func formatStack(frames []Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.Function)
		b.WriteString("\n\t")
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
	}
	return b.String()
}
