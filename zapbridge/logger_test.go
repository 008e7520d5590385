package zapbridge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestLinesCarryTheirContext(t *testing.T) {
	tr, _ := tracer(t)
	rootCtx, root := tr.Start(context.Background(), "root")
	defer root.End()
	childCtx, child := tr.Start(rootCtx, "child")
	defer child.End()
	rootTrace, rootSpan := ids(root)
	_, childSpan := ids(child)

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
		SpanID:  trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31},
		Remote:  true,
	})
	zeroIDs := trace.NewSpanContext(trace.SpanContextConfig{Remote: true})

	member, err := baggage.NewMemberRaw("tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	other, err := baggage.NewMemberRaw("secret", "s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member, other)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ctx  context.Context
		want map[string]any // fields the line must have
		not  []string       // fields it must not have
	}{
		{
			name: "no span",
			ctx:  otelctx.WithRequestID(context.Background(), "req-1"),
			want: map[string]any{"request_id": "req-1"},
			not:  []string{"trace_id", "span_id", "parent_span_id"},
		},
		{
			name: "nil context",
			ctx:  nil,
			not:  []string{"trace_id", "span_id", "request_id"},
		},
		{
			name: "zero ids from a bad header",
			ctx:  trace.ContextWithSpanContext(context.Background(), zeroIDs),
			not:  []string{"trace_id", "span_id"},
		},
		{
			name: "root span",
			ctx:  rootCtx,
			want: map[string]any{"trace_id": rootTrace, "span_id": rootSpan},
			not:  []string{"parent_span_id", "request_id"},
		},
		{
			name: "nested span",
			ctx:  otelctx.WithRequestID(childCtx, "req-2"),
			want: map[string]any{"trace_id": rootTrace, "span_id": childSpan, "parent_span_id": rootSpan, "request_id": "req-2"},
		},
		{
			name: "remote parent only",
			ctx:  trace.ContextWithRemoteSpanContext(context.Background(), remote),
			want: map[string]any{"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"},
			not:  []string{"parent_span_id"},
		},
		{
			name: "request store",
			ctx: otelctx.AddFields(rootCtx,
				attribute.String("user", "ada"), attribute.Int("cart", 3), attribute.Bool("vip", true),
				attribute.Float64("score", 0.5), attribute.StringSlice("roles", []string{"a", "b"}),
				attribute.Int64Slice("ns", []int64{1, 2}), attribute.BoolSlice("bs", []bool{true}),
				attribute.Float64Slice("fs", []float64{1.5}),
				attribute.Map("addr", attribute.String("city", "Oslo"), attribute.Int("zip", 150)),
				attribute.Slice("mixed", attribute.StringValue("x"), attribute.IntValue(7)),
			),
			want: map[string]any{
				"trace_id": rootTrace, "user": "ada", "cart": float64(3), "vip": true, "score": 0.5,
				"roles": []any{"a", "b"}, "ns": []any{float64(1), float64(2)}, "bs": []any{true},
				"fs": []any{1.5}, "addr": map[string]any{"city": "Oslo", "zip": float64(150)},
				"mixed": []any{"x", float64(7)},
			},
		},
		{
			name: "chosen baggage",
			ctx:  baggage.ContextWithBaggage(context.Background(), bag),
			want: map[string]any{"tenant": "acme"},
			not:  []string{"secret"},
		},
	}
	for _, shape := range shapes {
		for _, tt := range tests {
			t.Run(shape.name+"/"+tt.name, func(t *testing.T) {
				c, sink := jsonCore(zapcore.DebugLevel)
				l := New(zap.New(c), WithParentSpanIDKey(DefaultParentSpanIDKey), WithBaggageMembers("tenant"))
				shape.log(l, tt.ctx, "hello", zap.String("k", "v"))
				line := sink.one(t)
				if line["msg"] != "hello" || line["k"] != "v" {
					t.Errorf("line lost its own message or fields: %v", line)
				}
				for k, want := range tt.want {
					if got := line[k]; !reflect.DeepEqual(got, want) {
						t.Errorf("%s = %#v, want %#v (line %v)", k, got, want, line)
					}
				}
				for _, k := range tt.not {
					if v, ok := line[k]; ok {
						t.Errorf("line has %s = %#v, want none", k, v)
					}
				}
				if _, ok := line[contextKey]; ok {
					t.Errorf("the context field leaked into the line: %v", line)
				}
			})
		}
	}
}

func TestRequestStoreFollowsTheCallChain(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c))
	parent := otelctx.WithRequestID(context.Background(), "r1")
	child := otelctx.AddFields(parent, attribute.String("user", "ada"))
	grandchild := otelctx.AddFields(child, attribute.String("step", "pay"))

	l.Ctx(parent).Info("parent")
	l.Ctx(child).Info("child")
	l.Ctx(grandchild).Info("grandchild")
	l.Ctx(parent).Info("parent again")

	got := sink.parse(t)
	want := []map[string]any{
		{"msg": "parent", "request_id": "r1"},
		{"msg": "child", "request_id": "r1", "user": "ada"},
		{"msg": "grandchild", "request_id": "r1", "user": "ada", "step": "pay"},
		{"msg": "parent again", "request_id": "r1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		delete(got[i], "level")
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("line %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestFieldOrderContextFirst(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c))
	tr, _ := tracer(t)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	defer span.End()
	l.InfoContext(otelctx.AddFields(ctx, attribute.String("user", "ada")), "m", zap.Int("n", 1))
	out := sink.String()
	order := []string{`"msg"`, `"trace_id"`, `"span_id"`, `"request_id"`, `"user"`, `"n"`}
	last := -1
	for _, k := range order {
		i := strings.Index(out, k)
		if i <= last {
			t.Fatalf("%s out of order in %s", k, out)
		}
		last = i
	}
}

func TestKeyNames(t *testing.T) {
	tr, _ := tracer(t)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	defer span.End()
	traceID, spanID := ids(span)
	tests := []struct {
		name string
		opts []Option
		want map[string]any
		not  []string
	}{
		{"defaults", nil, map[string]any{"trace_id": traceID, "span_id": spanID, "request_id": "r"}, []string{"parent_span_id"}},
		{"renamed", []Option{WithTraceIDKey("tid"), WithSpanIDKey("sid"), WithRequestIDKey("rid")},
			map[string]any{"tid": traceID, "sid": spanID, "rid": "r"}, []string{"trace_id", "span_id", "request_id"}},
		{"switched off", []Option{WithTraceIDKey(""), WithSpanIDKey(""), WithRequestIDKey("")},
			nil, []string{"trace_id", "span_id", "request_id"}},
		{"only span id", []Option{WithTraceIDKey("")}, map[string]any{"span_id": spanID}, []string{"trace_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sink := jsonCore(zapcore.DebugLevel)
			New(zap.New(c), tt.opts...).InfoContext(ctx, "m")
			line := sink.one(t)
			for k, v := range tt.want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v", k, line[k], v)
				}
			}
			for _, k := range tt.not {
				if _, ok := line[k]; ok {
					t.Errorf("line has %s: %v", k, line)
				}
			}
		})
	}
}

func TestBaggageMembersOption(t *testing.T) {
	var keys []string
	for i := range MaxBaggageMembers + 5 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	cfg := newConfig([]Option{WithBaggageMembers("a", "", "a", "b"), WithBaggageMembers(keys...)})
	if len(cfg.baggage) != MaxBaggageMembers || cfg.baggage[0] != "a" || cfg.baggage[1] != "b" {
		t.Fatalf("baggage keys %v: want a, b, then up to %d in all", cfg.baggage, MaxBaggageMembers)
	}
}

// TestConcurrentRequests logs from many requests at once, through every shape, and checks that
// each line carries its own request's trace and span.
func TestConcurrentRequests(t *testing.T) {
	const requests, perRequest = 16, 40
	tr, _ := tracer(t)
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c))

	var (
		mu   sync.Mutex
		want = map[string][2]string{} // request_id → trace_id, span_id
		wg   sync.WaitGroup
	)
	for r := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rid := fmt.Sprintf("req-%02d", r)
			ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), rid), "request")
			defer span.End()
			traceID, spanID := ids(span)
			mu.Lock()
			want[rid] = [2]string{traceID, spanID}
			mu.Unlock()
			for i := range perRequest {
				shapes[i%len(shapes)].log(l, ctx, "step", zap.Int("i", i))
			}
		}()
	}
	wg.Wait()

	got := sink.parse(t)
	if len(got) != requests*perRequest {
		t.Fatalf("%d lines, want %d", len(got), requests*perRequest)
	}
	seen := map[string]int{}
	for _, line := range got {
		rid, _ := line["request_id"].(string)
		w, ok := want[rid]
		if !ok {
			t.Fatalf("line with unknown request_id: %v", line)
		}
		if line["trace_id"] != w[0] || line["span_id"] != w[1] {
			t.Errorf("%s: line has trace %v span %v, want %s %s", rid, line["trace_id"], line["span_id"], w[0], w[1])
		}
		seen[rid]++
	}
	for rid, n := range seen {
		if n != perRequest {
			t.Errorf("%s: %d lines, want %d", rid, n, perRequest)
		}
	}
}

// TestHeaderValuesCannotForgeLines puts CR, LF and quotes in a request ID and a baggage value
// and checks that each log call still makes exactly one line, holding the value intact.
func TestHeaderValuesCannotForgeLines(t *testing.T) {
	const evil = "x\r\n{\"level\":\"error\",\"msg\":\"forged\"}\n"
	m, err := baggage.NewMemberRaw("tenant", evil)
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(otelctx.WithRequestID(context.Background(), evil), bag)

	for _, enc := range []struct {
		name string
		new  func(zapcore.EncoderConfig) zapcore.Encoder
	}{{"json", zapcore.NewJSONEncoder}, {"console", zapcore.NewConsoleEncoder}} {
		for _, shape := range shapes {
			t.Run(enc.name+"/"+shape.name, func(t *testing.T) {
				sink := &lines{}
				l := New(zap.New(zapcore.NewCore(enc.new(encoderConfig()), sink, zapcore.DebugLevel)),
					WithBaggageMembers("tenant"))
				shape.log(l, ctx, "one")
				shape.log(l, ctx, "two")
				out := sink.String()
				if n := strings.Count(out, "\n"); n != 2 {
					t.Fatalf("%d lines from 2 calls:\n%s", n, out)
				}
				if strings.Contains(out, "\r") {
					t.Fatalf("raw CR in output: %q", out)
				}
				if enc.name == "json" {
					for _, line := range sink.parse(t) {
						if line["request_id"] != evil || line["tenant"] != evil {
							t.Errorf("value changed: request_id %q tenant %q", line["request_id"], line["tenant"])
						}
					}
				}
			})
		}
	}
}

func TestCallerAndStack(t *testing.T) {
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			c, sink := jsonCore(zapcore.DebugLevel)
			l := New(zap.New(c, zap.AddCaller(), zap.AddStacktrace(zapcore.InfoLevel)))
			_, file, line, _ := runtime.Caller(0)
			shape.log(l, context.Background(), "m")
			// The shape's closure is the caller; it lives in helpers_test.go.
			got := sink.one(t)
			caller, _ := got["caller"].(string)
			if !strings.HasPrefix(caller, "zapbridge/helpers_test.go:") {
				t.Errorf("caller %q, want the shape's call in helpers_test.go (test at %s:%d)", caller, file, line)
			}
			stack, _ := got["stacktrace"].(string)
			if !strings.Contains(stack, "TestCallerAndStack") || strings.Contains(stack, "zapbridge.(*Logger).log") {
				t.Errorf("stack does not start at the caller:\n%s", stack)
			}
		})
	}
	// And a direct call, to pin the exact line.
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c, zap.AddCaller()))
	_, _, line, _ := runtime.Caller(0)
	l.InfoContext(context.Background(), "m")
	l.Ctx(context.Background()).Info("m")
	for i, got := range sink.parse(t) {
		want := fmt.Sprintf("zapbridge/logger_test.go:%d", line+1+i)
		if got["caller"] != want {
			t.Errorf("caller %v, want %s", got["caller"], want)
		}
	}
}

func TestDisabledLevel(t *testing.T) {
	c, sink := jsonCore(zapcore.InfoLevel)
	called := 0
	l := New(zap.New(c), WithHook(zapcore.DebugLevel, func(context.Context, zapcore.Entry) { called++ }))
	l.DebugContext(context.Background(), "hidden")
	l.Ctx(context.Background()).Debug("hidden")
	l.Zap().Debug("hidden", Context(context.Background()))
	if sink.String() != "" || called != 0 {
		t.Fatalf("disabled lines were written (%q) or hooked (%d)", sink.String(), called)
	}
	if l.Level() != zapcore.InfoLevel || l.Zap().Level() != zapcore.InfoLevel {
		t.Fatalf("Level %v / %v, want info", l.Level(), l.Zap().Level())
	}
}

func TestLevels(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c))
	ctx := context.Background()
	cl := l.Ctx(ctx)
	l.DebugContext(ctx, "a")
	l.InfoContext(ctx, "b")
	l.WarnContext(ctx, "c")
	l.ErrorContext(ctx, "d")
	l.DPanicContext(ctx, "e") // not a development logger: no panic
	l.LogContext(ctx, zapcore.WarnLevel, "f")
	cl.Debug("g")
	cl.Info("h")
	cl.Warn("i")
	cl.Error("j")
	cl.DPanic("k")
	cl.Log(zapcore.ErrorLevel, "l")
	var got []string
	for _, line := range sink.parse(t) {
		got = append(got, fmt.Sprint(line["level"], ":", line["msg"]))
	}
	want := "[debug:a info:b warn:c error:d dpanic:e warn:f debug:g info:h warn:i error:j dpanic:k error:l]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
	if cl.Context() != ctx {
		t.Fatal("ContextLogger.Context is not the context it was made with")
	}
}

func TestPanicLineIsWrittenAndMarksTheSpan(t *testing.T) {
	tr, rec := tracer(t)
	for _, tt := range []struct {
		name string
		log  func(l *Logger, ctx context.Context)
	}{
		{"PanicContext", func(l *Logger, ctx context.Context) { l.PanicContext(ctx, "boom") }},
		{"Ctx.Panic", func(l *Logger, ctx context.Context) { l.Ctx(ctx).Panic("boom") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, sink := jsonCore(zapcore.DebugLevel)
			crumbs := 0
			l := New(zap.New(c), WithErrorHook(func(context.Context, zapcore.Entry) { crumbs++ }))
			ctx, span := tr.Start(context.Background(), tt.name)
			func() {
				defer func() {
					if recover() == nil {
						t.Error("no panic")
					}
				}()
				tt.log(l, ctx)
			}()
			span.End()
			if line := sink.one(t); line["msg"] != "boom" || line["trace_id"] == nil {
				t.Errorf("line %v", line)
			}
			ended := rec.Ended()
			if st := ended[len(ended)-1].Status(); st.Code != codes.Error || st.Description != "boom" {
				t.Errorf("span status %v, want Error boom", st)
			}
			if crumbs != 1 {
				t.Errorf("error hook called %d times, want 1", crumbs)
			}
		})
	}
}

func TestFatalLineUsesZapsFatalHook(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c, zap.WithFatalHook(zapcore.WriteThenGoexit)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.FatalContext(context.Background(), "fatal")
		t.Error("FatalContext returned")
	}()
	<-done
	if line := sink.one(t); line["level"] != "fatal" {
		t.Fatalf("line %v", line)
	}
}

func TestWithNamedWithOptions(t *testing.T) {
	c, sink := jsonCore(zapcore.DebugLevel)
	base := New(zap.New(c))
	l := base.With(zap.String("component", "db")).Named("repo").WithOptions(zap.Fields(zap.Int("v", 2)))
	ctx := otelctx.WithRequestID(context.Background(), "r")
	l.InfoContext(ctx, "direct")
	l.Zap().Info("wrapped", Context(ctx))
	for _, line := range sink.parse(t) {
		if line["component"] != "db" || line["logger"] != "repo" || line["v"] != float64(2) || line["request_id"] != "r" {
			t.Errorf("line %v", line)
		}
	}
	if base.With() != base || base.Named("") != base || base.WithOptions() != base {
		t.Error("no-op With/Named/WithOptions made a new Logger")
	}
	if err := l.Sync(); err != nil {
		t.Error(err)
	}
}

func TestNilAndZeroLoggersLogNothing(t *testing.T) {
	ctx := context.Background()
	var nilLogger *Logger
	nilLogger.InfoContext(ctx, "x")
	nilLogger.Ctx(ctx).Error("x")
	ContextLogger{}.Info("x")
	(&Logger{}).InfoContext(ctx, "x")
	nilLogger.Zap().Info("x")
	ContextLogger{}.Zap().Info("x")
	if nilLogger.With(zap.Int("a", 1)) != nil || nilLogger.Named("n") != nil || nilLogger.Sync() != nil {
		t.Fatal("nil Logger methods")
	}
	if nilLogger.Level() != zapcore.InvalidLevel {
		t.Fatal("nil Logger has a level")
	}
	New(nil).InfoContext(ctx, "x") // a nil *zap.Logger is a no-op logger
}

func TestHooks(t *testing.T) {
	type call struct {
		rid string
		ent zapcore.Entry
	}
	var got []call
	record := func(ctx context.Context, ent zapcore.Entry) {
		got = append(got, call{otelctx.RequestID(ctx), ent})
	}
	c, _ := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c, zap.AddCaller()), WithErrorHook(record), WithHook(nil, record), WithHook(zapcore.ErrorLevel, nil))
	ctx := otelctx.WithRequestID(context.Background(), "r9")
	l.InfoContext(ctx, "fine")
	l.WarnContext(ctx, "meh")
	l.ErrorContext(ctx, "bad", zap.Error(errors.New("e")))
	l.Zap().Error("bad too", Context(ctx))
	l.Zap().Error("no ctx")
	if len(got) != 3 {
		t.Fatalf("%d hook calls, want 3 (error lines only): %+v", len(got), got)
	}
	for i, want := range []call{{"r9", zapcore.Entry{Message: "bad"}}, {"r9", zapcore.Entry{Message: "bad too"}}, {"", zapcore.Entry{Message: "no ctx"}}} {
		if got[i].rid != want.rid || got[i].ent.Message != want.ent.Message || got[i].ent.Level != zapcore.ErrorLevel {
			t.Errorf("call %d = %q %q %v, want %q %q error", i, got[i].rid, got[i].ent.Message, got[i].ent.Level, want.rid, want.ent.Message)
		}
		if !got[i].ent.Caller.Defined {
			t.Errorf("call %d: entry has no caller", i)
		}
	}
}

func TestErrorStatus(t *testing.T) {
	tr, rec := tracer(t)
	tests := []struct {
		name string
		opts []Option
		log  func(l *Logger, ctx context.Context)
		want codes.Code
	}{
		{"error marks", nil, func(l *Logger, ctx context.Context) { l.ErrorContext(ctx, "bad") }, codes.Error},
		{"warn does not", nil, func(l *Logger, ctx context.Context) { l.WarnContext(ctx, "meh") }, codes.Unset},
		{"without error status", []Option{WithoutErrorStatus()}, func(l *Logger, ctx context.Context) { l.ErrorContext(ctx, "bad") }, codes.Unset},
		{"core path marks", nil, func(l *Logger, ctx context.Context) { l.Zap().Error("bad", Context(ctx)) }, codes.Error},
		{"With(Context) marks", nil, func(l *Logger, ctx context.Context) { l.Zap().With(Context(ctx)).Error("bad") }, codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := jsonCore(zapcore.DebugLevel)
			l := New(zap.New(c), tt.opts...)
			ctx, span := tr.Start(context.Background(), tt.name)
			tt.log(l, ctx)
			span.End()
			ended := rec.Ended()
			if got := ended[len(ended)-1].Status().Code; got != tt.want {
				t.Fatalf("status %v, want %v", got, tt.want)
			}
		})
	}
}

type point struct{ X, Y int }

func (p point) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddInt("x", p.X)
	enc.AddInt("y", p.Y)
	return nil
}

func TestSpanEvents(t *testing.T) {
	tr, rec := tracer(t)
	c, _ := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)).Named("svc"), WithSpanEvents(zapcore.WarnLevel))
	ctx, span := tr.Start(context.Background(), "s")
	l.InfoContext(ctx, "not mirrored")
	l.WarnContext(ctx, "slow", zap.Int("ms", 1200), zap.Error(errors.New("timeout")),
		zap.Object("at", point{1, 2}), zap.Strings("tags", []string{"a", "b"}), zap.Bool("retry", true),
		zap.Uint64("big", 1<<63), zap.Any("m", map[string]int{"k": 1}), zap.Namespace("ns"), zap.String("inner", "v"))
	l.Zap().Error("failed", Context(ctx))
	span.End()

	events := rec.Ended()[0].Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2 (warn and error): %v", len(events), events)
	}
	attrs := func(i int) map[string]attribute.Value {
		m := map[string]attribute.Value{}
		for _, kv := range events[i].Attributes {
			m[string(kv.Key)] = kv.Value
		}
		return m
	}
	warn := attrs(0)
	if events[0].Name != "log" {
		t.Errorf("event name %q, want log", events[0].Name)
	}
	want := map[string]any{
		"log.message": "slow", "log.severity": "WARN", "log.logger": "svc", "ms": int64(1200), "error": "timeout",
		"at.x": int64(1), "at.y": int64(2), "tags": `["a","b"]`, "retry": true, "big": "9223372036854775808",
		"m": `{"k":1}`, "ns.inner": "v", "code.line.number": nil, "code.file.path": nil, "code.function.name": nil,
	}
	for k, w := range want {
		v, ok := warn[k]
		if !ok {
			t.Errorf("warn event has no %s: %v", k, events[0].Attributes)
			continue
		}
		if w != nil && v.AsInterface() != w {
			t.Errorf("%s = %#v, want %#v", k, v.AsInterface(), w)
		}
	}
	if _, ok := warn["code.stacktrace"]; ok {
		t.Error("warn event has a stack; zap was asked for stacks at error only")
	}
	errEv := attrs(1)
	if errEv["log.message"].AsString() != "failed" || errEv["log.severity"].AsString() != "ERROR" || errEv["code.stacktrace"].AsString() == "" {
		t.Errorf("error event %v", events[1].Attributes)
	}
	if !strings.HasSuffix(errEv["code.file.path"].AsString(), "logger_test.go") {
		t.Errorf("code.file.path %q", errEv["code.file.path"].AsString())
	}
}

func TestSpanEventsBounded(t *testing.T) {
	tr, rec := tracer(t)
	c, _ := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(c), WithSpanEvents(zapcore.InfoLevel))
	ctx, span := tr.Start(context.Background(), "s")
	var fields []zap.Field
	for i := range 200 {
		fields = append(fields, zap.Int(fmt.Sprint("f", i), i))
	}
	l.InfoContext(ctx, "many", fields...)
	span.End()
	if n := len(rec.Ended()[0].Events()[0].Attributes); n > maxEventAttributes {
		t.Fatalf("%d attributes on one event, bound is %d", n, maxEventAttributes)
	}
}

// TestAllocLogLine: a line with the request's context costs zap's own allocation, a disabled one none.
func TestAllocLogLine(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tr, _ := tracer(t)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	ctx = otelctx.AddFields(ctx, attribute.String("user", "ada"), attribute.Int("cart", 3))
	core := zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), zapcore.AddSync(discard{}), zapcore.InfoLevel)
	l := New(zap.New(core))
	zl := zap.New(core)

	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"plain zap with fields", 1, func() { zl.Info("m", zap.String("a", "b"), zap.Int("n", 1)) }},
		{"InfoContext", 1, func() { l.InfoContext(ctx, "m", zap.String("a", "b"), zap.Int("n", 1)) }},
		{"Ctx.Info", 1, func() { l.Ctx(ctx).Info("m", zap.String("a", "b"), zap.Int("n", 1)) }},
		{"disabled", 0, func() { l.DebugContext(ctx, "m", zap.String("a", "b"), zap.Int("n", 1)) }},
		{"disabled Ctx", 0, func() { l.Ctx(ctx).Debug("m", zap.String("a", "b"), zap.Int("n", 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn() // fills the ID cache
			if got := testing.AllocsPerRun(200, tt.fn); got > tt.max {
				t.Fatalf("%v allocations per line, want at most %v", got, tt.max)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
