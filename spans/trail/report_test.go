package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

type codeError struct{ code int }

func (e codeError) Error() string { return fmt.Sprint("code ", e.code) }

type ptrError struct{ msg string }

func (e *ptrError) Error() string { return e.msg } // panics on a nil receiver

type loopError struct{}

func (e *loopError) Error() string { return "loop" }
func (e *loopError) Unwrap() error { return e }

type badUnwrap struct{ inner *ptrError }

func (e badUnwrap) Error() string { return "bad unwrap" }
func (e badUnwrap) Unwrap() error { return errors.New(e.inner.msg) } // panics: inner is nil

func TestCaptureChain(t *testing.T) {
	deep := error(codeError{0})
	for i := range MaxErrorDepth + 4 {
		deep = fmt.Errorf("level %d: %w", i, deep)
	}
	wide := make([]error, MaxErrors+10)
	for i := range wide {
		wide[i] = codeError{i}
	}
	tests := []struct {
		name          string
		err           error
		want          []ErrorInfo // nil: only check count and truncation
		wantLen       int
		wantTruncated bool
	}{
		{
			name: "single",
			err:  codeError{7},
			want: []ErrorInfo{{"trail.codeError", "code 7", 0}},
		},
		{
			name: "wrapped with %w",
			err:  fmt.Errorf("load config: %w", &fs.PathError{Op: "open", Path: "/etc/x", Err: fs.ErrNotExist}),
			want: []ErrorInfo{
				{"*fmt.wrapError", "load config: open /etc/x: file does not exist", 0},
				{"*fs.PathError", "open /etc/x: file does not exist", 1},
				{"*errors.errorString", "file does not exist", 2},
			},
		},
		{
			name: "join, depth first",
			err:  errors.Join(fmt.Errorf("a: %w", codeError{1}), codeError{2}),
			want: []ErrorInfo{
				{"*errors.joinError", "a: code 1\ncode 2", 0},
				{"*fmt.wrapError", "a: code 1", 1},
				{"trail.codeError", "code 1", 2},
				{"trail.codeError", "code 2", 1},
			},
		},
		{
			name: "Stack annotations are left out",
			err:  fmt.Errorf("outer: %w", Stack(codeError{3})),
			want: []ErrorInfo{
				{"*fmt.wrapError", "outer: code 3", 0},
				{"trail.codeError", "code 3", 1},
			},
		},
		{name: "deep chain is cut", err: deep, wantLen: MaxErrorDepth, wantTruncated: true},
		{name: "wide join is cut", err: errors.Join(wide...), wantLen: MaxErrors, wantTruncated: true},
		{name: "cycle ends", err: &loopError{}, wantLen: MaxErrorDepth, wantTruncated: true},
		{
			name: "Error panicking on a nil pointer",
			err:  (*ptrError)(nil),
			want: []ErrorInfo{{"*trail.ptrError", "<*trail.ptrError.Error panicked: runtime error: invalid memory address or nil pointer dereference>", 0}},
		},
		{
			name: "Unwrap panicking ends the branch",
			err:  badUnwrap{},
			want: []ErrorInfo{{"trail.badUnwrap", "bad unwrap", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Capture(context.Background(), tt.err)
			if tt.want != nil && !slices.Equal(r.Errors, tt.want) {
				t.Errorf("chain =\n%v\nwant\n%v", r.Errors, tt.want)
			}
			if tt.want == nil && len(r.Errors) != tt.wantLen {
				t.Errorf("chain has %d entries, want %d", len(r.Errors), tt.wantLen)
			}
			if r.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v, want %v", r.Truncated, tt.wantTruncated)
			}
			if r.Err != tt.err {
				t.Error("Report.Err is not the captured error")
			}
		})
	}
}

func TestCaptureMessageBounded(t *testing.T) {
	r := Capture(context.Background(), errors.New(strings.Repeat("x", 3*MaxErrorMessageLen)))
	if len(r.Message) != MaxErrorMessageLen || len(r.Errors[0].Message) != MaxErrorMessageLen {
		t.Fatalf("message lengths %d, %d; want %d", len(r.Message), len(r.Errors[0].Message), MaxErrorMessageLen)
	}
}

//go:noinline
func makeStackError() error { return Stack(errors.New("made here")) }

//go:noinline
func captureHere(ctx context.Context, err error) *Report { return Capture(ctx, err) }

func TestCaptureStack(t *testing.T) {
	panicked := spans.Go(context.Background(), "task", func(context.Context) error {
		var m map[string]int
		m["x"] = 1 // panics: assignment to entry in nil map
		return nil
	}).Wait()

	tests := []struct {
		name       string
		opts       []Option
		err        error
		wantSource string
		wantFirst  string // the function of the first frame
		wantFrames int    // 0: any number
	}{
		{"capture site", nil, errors.New("x"), StackFromCapture, "github.com/ctxtrail/ctxtrail/spans/trail.captureHere", 0},
		{"StackTracer in the chain wins", nil, fmt.Errorf("wrapped: %w", makeStackError()), StackFromError, "github.com/ctxtrail/ctxtrail/spans/trail.makeStackError", 0},
		{"spans.PanicError in the chain", nil, fmt.Errorf("task: %w", panicked), StackFromPanic, "github.com/ctxtrail/ctxtrail/spans/trail.TestCaptureStack.func1", 0},
		{"frames bounded", []Option{WithMaxFrames(2)}, errors.New("x"), StackFromCapture, "github.com/ctxtrail/ctxtrail/spans/trail.captureHere", 2},
		{"WithMaxFrames(0) keeps none", []Option{WithMaxFrames(0)}, errors.New("x"), "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := captureHere(Start(context.Background(), tt.opts...), tt.err)
			if r.StackSource != tt.wantSource {
				t.Fatalf("StackSource = %q, want %q", r.StackSource, tt.wantSource)
			}
			if tt.wantFirst == "" {
				if len(r.Stack) != 0 {
					t.Fatalf("got %d frames, want none", len(r.Stack))
				}
				return
			}
			if len(r.Stack) == 0 || r.Stack[0].Function != tt.wantFirst {
				t.Fatalf("stack starts at %v, want %s", r.Stack, tt.wantFirst)
			}
			if !strings.HasSuffix(r.Stack[0].File, "report_test.go") || r.Stack[0].Line == 0 {
				t.Errorf("first frame %+v: want a line of report_test.go", r.Stack[0])
			}
			if tt.wantFrames > 0 && len(r.Stack) != tt.wantFrames {
				t.Errorf("%d frames, want %d", len(r.Stack), tt.wantFrames)
			}
			if len(r.Stack) > DefaultMaxFrames {
				t.Errorf("%d frames, past the default bound %d", len(r.Stack), DefaultMaxFrames)
			}
		})
	}
	if r := Capture(context.Background(), fmt.Errorf("task: %w", panicked)); !r.Panic {
		t.Error("a report of a *spans.PanicError is not marked as a panic")
	}
}

func TestStack(t *testing.T) {
	base := codeError{9}
	err := Stack(base)
	if err.Error() != "code 9" || !errors.Is(err, base) {
		t.Fatalf("Stack(err) = %v; want it to read and match as err", err)
	}
	var ce codeError
	if !errors.As(err, &ce) || ce.code != 9 {
		t.Fatal("errors.As does not see through Stack")
	}
	if Stack(nil) != nil {
		t.Fatal("Stack(nil) != nil")
	}
	if again := Stack(fmt.Errorf("w: %w", err)); errors.Unwrap(again) != err {
		t.Fatal("Stack re-annotated an error that already carries a stack")
	}
}

func TestTextFrames(t *testing.T) {
	stack := "goroutine 7 [running]:\n" +
		"github.com/ctxtrail/ctxtrail/spans.newPanicError({0x6, 0x5}, {0x1, 0x2})\n" +
		"\t/src/spans/run.go:281 +0x5a\n" +
		"panic({0x6b3ea0?, 0x86e5f0?})\n" +
		"\t/usr/local/go/src/runtime/panic.go:783 +0x132\n" +
		"runtime.panicmem(...)\n" +
		"\t/usr/local/go/src/runtime/panic.go:262\n" +
		"runtime.sigpanic()\n" +
		"\t/usr/local/go/src/runtime/signal_unix.go:925 +0x359\n" +
		"main.(*T).m(...)\n" +
		"\t/src/main.go:10\n" +
		"main.run()\n" +
		"\t/src/main.go:20 +0x1f\n" +
		"created by main.main in goroutine 1\n" +
		"\t/src/main.go:30 +0x25\n"
	want := []Frame{{"main.(*T).m", "/src/main.go", 10}, {"main.run", "/src/main.go", 20}}
	if got := textFrames([]byte(stack), 10); !slices.Equal(got, want) {
		t.Fatalf("frames = %v, want %v", got, want)
	}
	if got := textFrames([]byte(stack), 1); len(got) != 1 {
		t.Fatalf("limit 1 gave %d frames", len(got))
	}
	for _, junk := range []string{"", "\n\n\t", "goroutine 1 [running]:\nx(\n\tno-colon\n", "\t:\n\t:"} {
		_ = textFrames([]byte(junk), 10) // must not panic
	}
}

func TestCaptureContext(t *testing.T) {
	tp, rec := newProvider(t)
	sink := NewMemorySink(4)
	ctx := Start(context.Background(), WithSink(sink))
	ctx = otelctx.WithRequestID(ctx, "req-1")
	ctx = otelctx.AddFields(ctx,
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/orders/7"),
		attribute.String("enduser.id", "u-9"),
		attribute.String("session", "not a report key"),
	)
	ctx, span := tp.Tracer("test").Start(ctx, "GET /orders/{id}")
	AddBreadcrumb(ctx, "loaded order", attribute.Int("order", 7))
	Add(ctx, Breadcrumb{Level: LevelWarning, Category: "db", Message: "slow query"})
	r := Capture(ctx, errors.New("out of stock"))
	span.End()

	sc := span.SpanContext()
	if r.TraceID != sc.TraceID().String() || r.SpanID != sc.SpanID().String() || r.RequestID != "req-1" {
		t.Errorf("ids = %s %s %s, want the span's and req-1", r.TraceID, r.SpanID, r.RequestID)
	}
	wantCtx := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/orders/7"),
		attribute.String("enduser.id", "u-9"),
	}
	if !slices.Equal(r.Context, wantCtx) {
		t.Errorf("context = %v, want %v", r.Context, wantCtx)
	}
	if got := messages(r.Breadcrumbs); !slices.Equal(got, []string{"loaded order", "slow query"}) {
		t.Errorf("crumbs = %v", got)
	}
	if len(r.ID) != 32 || r.Time.IsZero() || r.Message != "out of stock" || r.Panic {
		t.Errorf("report header = %q %v %q %v", r.ID, r.Time, r.Message, r.Panic)
	}
	if got := sink.Reports(); len(got) != 1 || got[0] != r {
		t.Errorf("sink got %d reports; want the returned one", len(got))
	}

	ended := rec.Ended()[0]
	if ended.Status().Code != codes.Error || ended.Status().Description != "out of stock" {
		t.Errorf("span status = %v", ended.Status())
	}
	ex := eventsNamed(ended, semconv.ExceptionEventName)
	if len(ex) != 1 {
		t.Fatalf("%d exception events, want 1", len(ex))
	}
	attrs := attribute.NewSet(ex[0].Attributes...)
	for k, want := range map[attribute.Key]string{
		"exception.type": "*errors.errorString", "exception.message": "out of stock", ReportIDKey: r.ID,
	} {
		if v, _ := attrs.Value(k); v.AsString() != want {
			t.Errorf("exception event %s = %q, want %q", k, v.AsString(), want)
		}
	}
	if v, _ := attrs.Value("exception.stacktrace"); !strings.Contains(v.AsString(), "trail.TestCaptureContext") {
		t.Errorf("exception.stacktrace does not show the capture site:\n%s", v.AsString())
	}
}

func TestCaptureWithoutTrail(t *testing.T) {
	if Capture(context.Background(), nil) != nil || CapturePanic(context.Background(), nil) != nil {
		t.Fatal("capturing nothing returned a report")
	}
	ctx := otelctx.AddFields(context.Background(), attribute.String("url.path", "/x"))
	AddBreadcrumb(ctx, "goes nowhere")
	r := Capture(ctx, errors.New("e"))
	if len(r.Breadcrumbs) != 0 || r.TraceID != "" || r.StackSource != StackFromCapture {
		t.Fatalf("report without a trail = %+v", r)
	}
	if !slices.Equal(r.Context, []attribute.KeyValue{attribute.String("url.path", "/x")}) {
		t.Fatalf("context = %v: default field keys not read", r.Context)
	}
}

func TestCapturePanic(t *testing.T) {
	tests := []struct {
		name     string
		value    any
		wantType string
		wantMsg  string
	}{
		{"string", "boom", "string", "boom"},
		{"error", codeError{5}, "trail.codeError", "code 5"},
		{"runtime error", nil, "runtime.boundsError", "index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *Report
			func() {
				defer func() { r = CapturePanic(context.Background(), recover()) }()
				raise(tt.value)
			}()
			if !r.Panic || r.StackSource != StackFromPanic {
				t.Fatalf("Panic %v, StackSource %q", r.Panic, r.StackSource)
			}
			if r.Errors[0].Type != tt.wantType || !strings.Contains(r.Errors[0].Message, tt.wantMsg) {
				t.Errorf("errors[0] = %+v, want type %s, message with %q", r.Errors[0], tt.wantType, tt.wantMsg)
			}
			if r.Stack[0].Function != "github.com/ctxtrail/ctxtrail/spans/trail.raise" {
				t.Errorf("stack starts at %s, want the panicking function", r.Stack[0].Function)
			}
		})
	}
}

//go:noinline
func raise(v any) {
	if v == nil {
		var s []int
		_ = s[3]
	}
	panic(v)
}

func TestReportJSON(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	r := &Report{
		ID: "0af7651916cd43dd8448eb211c80319c", Time: at, Message: "checkout: card declined", Panic: true,
		Errors:      []ErrorInfo{{"*fmt.wrapError", "checkout: card declined", 0}, {"*errors.errorString", "card declined", 1}},
		Truncated:   true,
		StackSource: StackFromCapture,
		Stack:       []Frame{{"main.checkout", "/app/main.go", 42}},
		TraceID:     "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", RequestID: "req-1",
		Context: []attribute.KeyValue{attribute.String("url.path", "/pay"), attribute.Int("n", 3), attribute.Bool("b", true),
			attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"a"}), attribute.Int64Slice("is", []int64{1, 2}),
			attribute.BoolSlice("bs", []bool{true}), attribute.Float64Slice("fs", []float64{0.5})},
		Breadcrumbs:        []Breadcrumb{{Time: at, Level: LevelWarning, Category: "http", Message: "retry", Data: []attribute.KeyValue{attribute.Int("attempt", 2)}}},
		BreadcrumbsDropped: 4,
		Err:                errors.New("not in the JSON"),
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	want := map[string]any{
		"id": "0af7651916cd43dd8448eb211c80319c", "timestamp": "2025-03-01T12:00:00.000000005Z",
		"message": "checkout: card declined", "panic": true,
		"errors": []any{
			map[string]any{"type": "*fmt.wrapError", "message": "checkout: card declined", "depth": 0.0},
			map[string]any{"type": "*errors.errorString", "message": "card declined", "depth": 1.0},
		},
		"errors_truncated": true,
		"stack_source":     "capture",
		"stack":            []any{map[string]any{"function": "main.checkout", "file": "/app/main.go", "line": 42.0}},
		"trace_id":         "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "request_id": "req-1",
		"context": map[string]any{"url.path": "/pay", "n": 3.0, "b": true, "f": 1.5, "ss": []any{"a"},
			"is": []any{1.0, 2.0}, "bs": []any{true}, "fs": []any{0.5}},
		"breadcrumbs": []any{map[string]any{"timestamp": "2025-03-01T12:00:00.000000005Z", "level": "warning",
			"category": "http", "message": "retry", "data": map[string]any{"attempt": 2.0}}},
		"breadcrumbs_dropped": 4.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON =\n%s\nwant\n%v", b, want)
	}
	// Field order is part of the documented shape.
	if !strings.HasPrefix(string(b), `{"id":"0af7651916cd43dd8448eb211c80319c","timestamp":`) {
		t.Errorf("JSON does not start with id, timestamp: %s", b)
	}

	// A minimal report leaves out the optional fields and still lists its (empty) crumbs.
	b, _ = json.Marshal(Report{ID: "x", Time: at, Message: "m"})
	if string(b) != `{"id":"x","timestamp":"2025-03-01T12:00:00.000000005Z","message":"m","errors":[],"breadcrumbs":[]}` {
		t.Errorf("minimal report JSON = %s", b)
	}
}
