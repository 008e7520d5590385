package slogbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func TestSlogtest(t *testing.T) {
	out := &lines{}
	h := NewHandler(slog.NewJSONHandler(out, nil))
	slogtest.Run(t, func(*testing.T) slog.Handler {
		out.mu.Lock()
		out.buf.Reset()
		out.mu.Unlock()
		return h
	}, func(t *testing.T) map[string]any { return out.one(t) })
}

// TestSlogtestWithSpan runs slogtest with a span in every record's context: the IDs are extra
// top-level keys, which slogtest allows, and must not disturb the groups.
func TestSlogtestWithSpan(t *testing.T) {
	tr, _ := tracer(t)
	out := &lines{}
	h := NewHandler(slog.NewJSONHandler(out, nil))
	err := slogtest.TestHandler(spanHandler{h, tr}, func() []map[string]any { return out.parse(t) })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.parse(t) {
		if _, ok := m[DefaultTraceIDKey].(string); !ok {
			t.Fatalf("line without a top-level trace_id: %v", m)
		}
	}
}

// spanHandler starts a span for each record and handles it in the span's context.
type spanHandler struct {
	slog.Handler
	tr trace.Tracer
}

func (h spanHandler) Handle(ctx context.Context, r slog.Record) error {
	ctx, span := h.tr.Start(ctx, "line")
	defer span.End()
	return h.Handler.Handle(ctx, r)
}
func (h spanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return spanHandler{h.Handler.WithAttrs(as), h.tr}
}
func (h spanHandler) WithGroup(n string) slog.Handler {
	return spanHandler{h.Handler.WithGroup(n), h.tr}
}

func TestIDs(t *testing.T) {
	tr, _ := tracer(t)
	log, out := jsonLogger()
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-1"), "checkout")
	log.InfoContext(ctx, "charged", "cents", 1250)
	span.End()

	m := out.one(t)
	tid, sid := ids(span)
	if m["trace_id"] != tid || m["span_id"] != sid || m["request_id"] != "req-1" || m["cents"] != float64(1250) || m["msg"] != "charged" {
		t.Fatalf("line %v, want trace %s span %s request req-1 cents 1250", m, tid, sid)
	}
}

func TestNoSpanNoIDs(t *testing.T) {
	log, out := jsonLogger()
	zero := trace.ContextWithSpanContext(context.Background(), trace.SpanContext{})
	remoteBad := trace.ContextWithRemoteSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}}))
	log.Info("no context")
	log.InfoContext(context.Background(), "background")
	log.InfoContext(zero, "zero span context")
	log.InfoContext(remoteBad, "trace without span")
	//nolint:staticcheck // a nil context is what some callers pass
	log.InfoContext(nil, "nil context") //lint:ignore SA1012 on purpose
	for _, m := range out.parse(t) {
		for _, k := range []string{"trace_id", "span_id", "request_id"} {
			if _, ok := m[k]; ok {
				t.Errorf("%q: has %s = %v", m["msg"], k, m[k])
			}
		}
	}
	if n := len(out.parse(t)); n != 5 {
		t.Fatalf("%d lines, want 5", n)
	}
}

func TestStoreFieldsAndBaggage(t *testing.T) {
	log, out := jsonLogger(WithBaggageMembers("tenant", "", "tenant", "absent"))
	ctx := otelctx.AddFields(context.Background(), attribute.String("user", "ada"), attribute.Int("attempt", 2),
		attribute.Bool("vip", true), attribute.StringSlice("roles", []string{"a", "b"}))
	m1, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(m1)
	ctx = baggage.ContextWithBaggage(ctx, bag)
	log.InfoContext(ctx, "hi")
	m := out.one(t)
	if m["user"] != "ada" || m["attempt"] != float64(2) || m["vip"] != true || m["tenant"] != "acme" {
		t.Fatalf("line %v", m)
	}
	if r, _ := m["roles"].([]any); len(r) != 2 {
		t.Fatalf("roles %v", m["roles"])
	}
	if _, ok := m["absent"]; ok {
		t.Fatal("absent member written")
	}
}

func TestKeys(t *testing.T) {
	tr, _ := tracer(t)
	log, out := jsonLogger(WithTraceIDKey("tid"), WithSpanIDKey(""), WithRequestIDKey("rid"), WithParentSpanIDKey(DefaultParentSpanIDKey))
	ctx, root := tr.Start(otelctx.WithRequestID(context.Background(), "r"), "root")
	ctx, child := tr.Start(ctx, "child")
	log.InfoContext(ctx, "x")
	child.End()
	root.End()
	m := out.one(t)
	tid, _ := ids(child)
	_, psid := ids(root)
	if m["tid"] != tid || m["rid"] != "r" || m["parent_span_id"] != psid {
		t.Fatalf("line %v", m)
	}
	if _, ok := m["span_id"]; ok {
		t.Fatal("span_id written with an empty key")
	}
}

// TestGroupKeepsIDsOnTop: inside groups, the IDs are top-level keys and the record's attributes
// and the group's WithAttrs are where slog puts them.
func TestGroupKeepsIDsOnTop(t *testing.T) {
	tr, _ := tracer(t)
	log, out := jsonLogger()
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-g"), "s")
	defer span.End()
	log.With("top", 1).WithGroup("http").With("method", "GET").WithGroup("resp").InfoContext(ctx, "done", "status", 200)
	log.WithGroup("empty").InfoContext(ctx, "nothing in the group")

	ls := out.parse(t)
	tid, sid := ids(span)
	m := ls[0]
	if m["trace_id"] != tid || m["span_id"] != sid || m["request_id"] != "req-g" || m["top"] != float64(1) {
		t.Fatalf("top level %v", m)
	}
	http, _ := m["http"].(map[string]any)
	resp, _ := http["resp"].(map[string]any)
	if http["method"] != "GET" || resp["status"] != float64(200) || http["trace_id"] != nil {
		t.Fatalf("groups %v", m)
	}
	if _, ok := ls[1]["empty"]; ok || ls[1]["trace_id"] != tid {
		t.Fatalf("empty group line %v", ls[1])
	}
}

// TestSameOutputAsNext: apart from the context's attributes, what next writes is what it would
// write without the bridge, groups included.
func TestSameOutputAsNext(t *testing.T) {
	bridged, plain := &lines{}, &lines{}
	for _, w := range []*lines{bridged, plain} {
		var h slog.Handler = plainJSON(w)
		if w == bridged {
			h = NewHandler(h)
		}
		l := slog.New(h)
		l.Info("a", "k", 1, slog.Group("g", "x", "y"))
		l.With("w", true).WithGroup("g").With("in", 2).WithGroup("h").Info("b", "deep", 3)
		l.WithGroup("g").WithGroup("h").Info("c")
		l.WithGroup("g").Info("d", slog.Group("", "inline", 4))
	}
	if bridged.String() != plain.String() {
		t.Fatalf("bridged:\n%s\nplain:\n%s", bridged, plain)
	}
}

type failing struct{ slog.Handler }

var errSink = errors.New("disk full")

func (f failing) Handle(context.Context, slog.Record) error { return errSink }

func TestNextErrorReturnedAfterEffects(t *testing.T) {
	tr, rec := tracer(t)
	var hooked int
	h := NewHandler(failing{slog.DiscardHandler}, WithErrorHook(func(context.Context, slog.Record) { hooked++ }))
	ctx, span := tr.Start(context.Background(), "s")
	r := slog.NewRecord(timeZero, slog.LevelError, "boom", 0)
	if err := h.Handle(ctx, r); !errors.Is(err, errSink) {
		t.Fatalf("Handle = %v, want next's error", err)
	}
	span.End()
	if hooked != 1 {
		t.Fatalf("hook ran %d times", hooked)
	}
	if got := rec.Ended()[0].Status(); got.Code != codes.Error || got.Description != "boom" {
		t.Fatalf("status %+v", got)
	}
	// slog.Logger drops the error; logging must still not panic.
	slog.New(h).ErrorContext(ctx, "again")
}

func TestNilHandlerPanicsAtConstruction(t *testing.T) {
	defer func() {
		if p := recover(); p != ErrNilHandler {
			t.Fatalf("recovered %v, want ErrNilHandler", p)
		}
	}()
	NewHandler(nil)
	t.Fatal("no panic")
}

func TestSpanEvents(t *testing.T) {
	tr, rec := tracer(t)
	log, _ := jsonLogger(WithSpanEvents(slog.LevelInfo))
	ctx, span := tr.Start(context.Background(), "s")
	huge := strings.Repeat("é", MaxValueLen) // twice the bound in bytes
	log.DebugContext(ctx, "not mirrored")
	log.WithGroup("g").With("w", 1).InfoContext(ctx, "mirrored", "n", 7, "huge", huge, "err", errors.New("bad"),
		slog.Group("sub", "u", uint64(1<<64-1)))
	span.End()

	evs := rec.Ended()[0].Events()
	if len(evs) != 1 || evs[0].Name != "log" {
		t.Fatalf("events %+v", evs)
	}
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range evs[0].Attributes {
		got[kv.Key] = kv.Value
	}
	if got["log.message"].AsString() != "mirrored" || got["log.severity"].AsString() != "INFO" ||
		got["g.w"].AsInt64() != 1 || got["g.n"].AsInt64() != 7 || got["g.err"].AsString() != "bad" ||
		got["g.sub.u"].AsString() != "18446744073709551615" {
		t.Fatalf("attributes %v", evs[0].Attributes)
	}
	if h := got["g.huge"].AsString(); len(h) > MaxValueLen || !strings.HasPrefix(huge, h) || len(h) < MaxValueLen-1 {
		t.Fatalf("huge value kept %d bytes, want it cut to about %d", len(h), MaxValueLen)
	}
	if got["code.function.name"].AsString() == "" {
		t.Fatalf("no caller in %v", evs[0].Attributes)
	}
}

func TestErrorStatus(t *testing.T) {
	tr, rec := tracer(t)
	log, _ := jsonLogger()
	quiet, _ := jsonLogger(WithoutErrorStatus())
	ctx, a := tr.Start(context.Background(), "a")
	log.WarnContext(ctx, "warn only")
	a.End()
	ctx, b := tr.Start(context.Background(), "b")
	log.ErrorContext(ctx, "failed")
	b.End()
	ctx, c := tr.Start(context.Background(), "c")
	quiet.ErrorContext(ctx, "failed quietly")
	c.End()
	st := rec.Ended()
	if st[0].Status().Code != codes.Unset || st[1].Status().Code != codes.Error || st[2].Status().Code != codes.Unset {
		t.Fatalf("statuses %v %v %v", st[0].Status(), st[1].Status(), st[2].Status())
	}
}

func TestHooks(t *testing.T) {
	var got []string
	hook := func(ctx context.Context, r slog.Record) {
		got = append(got, otelctx.RequestID(ctx)+":"+r.Message)
	}
	log, _ := jsonLogger(WithHook(slog.LevelWarn, hook), WithHook(nil, hook), WithErrorHook(nil))
	ctx := otelctx.WithRequestID(context.Background(), "r1")
	log.InfoContext(ctx, "info")
	log.WarnContext(ctx, "warn")
	log.Error("no ctx")
	if strings.Join(got, ",") != "r1:warn,:no ctx" {
		t.Fatalf("hooks saw %q", got)
	}
}

func TestDisabledLevelSkipsEverything(t *testing.T) {
	var hooked bool
	out := &lines{}
	l := slog.New(NewHandler(slog.NewJSONHandler(out, nil), WithHook(slog.LevelDebug, func(context.Context, slog.Record) { hooked = true })))
	l.Debug("hidden")
	if hooked || out.String() != "" {
		t.Fatal("a disabled record reached the hook or the output")
	}
}

// TestOrderContextFirst: the context's attributes come first, then the record's own, in their
// order, whether the record has few attributes (one stack buffer) or many (more than the
// buffer holds), compared byte for byte with the same record given the IDs by hand.
func TestOrderContextFirst(t *testing.T) {
	tr, _ := tracer(t)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-o"), "s")
	defer span.End()
	ctx = otelctx.AddFields(ctx, attribute.String("tenant", "acme"))
	tid, sid := ids(span)
	for _, n := range []int{0, 1, 3, inlineAttrs - 4, inlineAttrs - 3, inlineAttrs, 2 * inlineAttrs} {
		var own []slog.Attr
		for i := range n {
			own = append(own, slog.Int(fmt.Sprintf("a%d", i), i))
		}
		bridged, plain := &lines{}, &lines{}
		slog.New(NewHandler(plainJSON(bridged))).LogAttrs(ctx, slog.LevelInfo, "m", own...)
		byHand := append([]slog.Attr{slog.String("trace_id", tid), slog.String("span_id", sid),
			slog.String("request_id", "req-o"), slog.String("tenant", "acme")}, own...)
		slog.New(plainJSON(plain)).LogAttrs(ctx, slog.LevelInfo, "m", byHand...)
		if bridged.String() != plain.String() {
			t.Fatalf("%d attributes:\nbridged %s\nby hand %s", n, bridged, plain)
		}
	}
}
