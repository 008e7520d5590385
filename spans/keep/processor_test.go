package keep_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/keepsignal"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var unsampled = sdktrace.ParentBased(sdktrace.NeverSample())

func TestErrorTraceKeptWhole(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled)
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root", trace.WithSpanKind(trace.SpanKindServer))
	if root.SpanContext().IsSampled() || !root.IsRecording() {
		t.Fatalf("root: sampled %v recording %v, want recorded and not sampled", root.SpanContext().IsSampled(), root.IsRecording())
	}
	cctx, child := tr.Start(ctx, "child")
	_, leaf := tr.Start(cctx, "leaf")
	leaf.RecordError(errors.New("boom"))
	leaf.SetStatus(codes.Error, "boom")
	leaf.End()
	child.End()
	_, sibling := tr.Start(ctx, "sibling")
	sibling.End()
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans exported before the local root ended", n)
	}
	root.End()

	got := byName(exp.GetSpans())
	if len(got) != 4 {
		t.Fatalf("exported %d spans %v, want root, child, leaf, sibling", len(got), got)
	}
	for name, s := range got {
		if !s.SpanContext.IsSampled() {
			t.Errorf("%s: exported without the sampled flag", name)
		}
		if s.SpanContext.TraceID() != root.SpanContext().TraceID() {
			t.Errorf("%s: trace ID %s, want %s", name, s.SpanContext.TraceID(), root.SpanContext().TraceID())
		}
	}
	parents := map[string]string{"child": "root", "leaf": "child", "sibling": "root"}
	for name, parent := range parents {
		if got[name].Parent.SpanID() != got[parent].SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want %s's %s", name, got[name].Parent.SpanID(), parent, got[parent].SpanContext.SpanID())
		}
		if !got[name].Parent.IsSampled() {
			t.Errorf("%s: the local parent is exported, so its span context should say sampled", name)
		}
	}
	if got["root"].Parent.IsValid() {
		t.Errorf("root has parent %v", got["root"].Parent)
	}
	if v, _ := attr(got["root"], keep.AttrReason); v != keep.ReasonError {
		t.Errorf("root %s = %q, want %q", keep.AttrReason, v, keep.ReasonError)
	}
	if _, ok := attr(got["child"], keep.AttrReason); ok {
		t.Errorf("child carries %s: only local roots do", keep.AttrReason)
	}
	if _, ok := attr(got["root"], keep.AttrTruncated); ok {
		t.Errorf("root marked truncated with nothing cut")
	}
	st := kp.Stats()
	if st.KeptError != 1 || st.Exported != 4 || st.BufferedBytes != 0 || st.BufferedTraces != 0 {
		t.Errorf("stats %+v: want 1 kept for error, 4 exported, nothing buffered", st)
	}
}

func TestSlowTraceKept(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled, keep.WithSlowThreshold(time.Second))
	tr := tp.Tracer("t")
	start := time.Now()
	ctx, root := tr.Start(context.Background(), "slow", trace.WithTimestamp(start))
	_, child := tr.Start(ctx, "child", trace.WithTimestamp(start))
	child.End(trace.WithTimestamp(start.Add(time.Millisecond)))
	root.End(trace.WithTimestamp(start.Add(1500 * time.Millisecond)))

	_, fast := tr.Start(context.Background(), "fast", trace.WithTimestamp(start))
	fast.End(trace.WithTimestamp(start.Add(999 * time.Millisecond)))

	got := byName(exp.GetSpans())
	if len(got) != 2 || got["slow"].Name == "" || got["child"].Name == "" {
		t.Fatalf("exported %v, want the slow root and its child only", got)
	}
	if v, _ := attr(got["slow"], keep.AttrReason); v != keep.ReasonSlow {
		t.Errorf("%s = %q, want %q", keep.AttrReason, v, keep.ReasonSlow)
	}
	if st := kp.Stats(); st.KeptSlow != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v: want 1 kept as slow, 1 dropped", st)
	}
}

func TestSlowThresholdOff(t *testing.T) {
	tp, _, exp := newCapture(t, unsampled, keep.WithSlowThreshold(0))
	start := time.Now()
	_, root := tp.Tracer("t").Start(context.Background(), "slow", trace.WithTimestamp(start))
	root.End(trace.WithTimestamp(start.Add(time.Hour)))
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("exported %d spans with the slow threshold off", n)
	}
}

func TestFastSuccessfulTraceDropped(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled)
	tr := tp.Tracer("t")
	for i := range 20 {
		ctx, root := tr.Start(context.Background(), fmt.Sprint("root", i))
		_, child := tr.Start(ctx, "child")
		child.SetStatus(codes.Ok, "")
		child.End()
		root.End()
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("exported %d spans of fast successful traces", n)
	}
	if st := kp.Stats(); st.Dropped != 20 || st.BufferedBytes != 0 || st.BufferedTraces != 0 || st.Exported != 0 {
		t.Errorf("stats %+v: want 20 dropped and nothing left buffered", st)
	}
}

func TestHeadSampledPassesThrough(t *testing.T) {
	tp, kp, exp := newCapture(t, sdktrace.AlwaysSample())
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, child := tp.Tracer("t").Start(ctx, "child")
	child.End()
	if n := len(exp.GetSpans()); n != 1 {
		t.Fatalf("a sampled child should pass through at its end: %d exported", n)
	}
	root.End()
	if got := byName(exp.GetSpans()); len(got) != 2 {
		t.Fatalf("exported %v, want both spans", got)
	}
	if _, ok := attr(exp.GetSpans()[1], keep.AttrReason); ok {
		t.Errorf("a head-sampled root carries %s", keep.AttrReason)
	}
	if st := kp.Stats(); st.Exported != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v: head-sampled spans are not the capture's", st)
	}
}

func TestRemoteUnsampledParentIsLocalRoot(t *testing.T) {
	tp, _, exp := newCapture(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	ctx, server := tp.Tracer("t").Start(ctx, "server", trace.WithSpanKind(trace.SpanKindServer))
	if server.SpanContext().IsSampled() {
		t.Fatal("the caller did not sample: the parent-based head should not either")
	}
	_, db := tp.Tracer("t").Start(ctx, "db")
	db.SetStatus(codes.Error, "down")
	db.End()
	server.End()
	got := byName(exp.GetSpans())
	if len(got) != 2 {
		t.Fatalf("exported %v", got)
	}
	p := got["server"].Parent
	if p.SpanID() != remote.SpanID() || !p.IsRemote() || p.IsSampled() {
		t.Errorf("server's parent %+v: want the caller's span, remote, as the caller sent it", p)
	}
}

func TestPerTraceSpanCap(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled, keep.WithMaxSpansPerTrace(3))
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	for i := range 10 {
		_, c := tr.Start(ctx, fmt.Sprint("child", i))
		c.End()
	}
	root.SetStatus(codes.Error, "failed")
	root.End()
	got := byName(exp.GetSpans())
	if len(got) != 4 || got["root"].Name == "" {
		t.Fatalf("exported %d spans %v, want the first 3 children and the root", len(got), got)
	}
	if v, _ := attr(got["root"], keep.AttrTruncated); v != "true" {
		t.Errorf("%s = %q, want true", keep.AttrTruncated, v)
	}
	if v, _ := attr(got["root"], keep.AttrDroppedSpans); v != "7" {
		t.Errorf("%s = %q, want 7", keep.AttrDroppedSpans, v)
	}
	if st := kp.Stats(); st.DroppedSpansPerTrace != 7 {
		t.Errorf("stats %+v: want 7 dropped by the per-trace cap", st)
	}
}

func TestPerSpanAttributeAndEventCaps(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled, keep.WithMaxAttributesPerSpan(2), keep.WithMaxEventsPerSpan(1))
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, c := tp.Tracer("t").Start(ctx, "child", trace.WithAttributes(
		attribute.String("a", "1"), attribute.String("b", "2"), attribute.String("c", "3")))
	c.AddEvent("e1")
	c.AddEvent("e2")
	c.AddEvent("e3")
	c.SetStatus(codes.Error, "x")
	c.End()
	root.End()
	got := byName(exp.GetSpans())
	child := got["child"]
	if len(child.Attributes) != 2 || child.DroppedAttributes != 1 {
		t.Errorf("child attributes %v, dropped %d: want 2 kept, 1 dropped", child.Attributes, child.DroppedAttributes)
	}
	if len(child.Events) != 1 || child.DroppedEvents != 2 {
		t.Errorf("child events %v, dropped %d: want 1 kept, 2 dropped", child.Events, child.DroppedEvents)
	}
	if v, _ := attr(got["root"], keep.AttrTruncated); v != "true" {
		t.Errorf("root %s = %q, want true: a span of the trace was cut", keep.AttrTruncated, v)
	}
	if st := kp.Stats(); st.DroppedAttributes != 1 || st.DroppedEvents != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A dropped trace is not cut, it is dropped whole: its spans' attributes and events past the
// caps are not counted as cut.
func TestDroppedTraceCountsNoCut(t *testing.T) {
	tp, kp, _ := newCapture(t, unsampled, keep.WithMaxAttributesPerSpan(1), keep.WithMaxEventsPerSpan(0))
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, c := tp.Tracer("t").Start(ctx, "child", trace.WithAttributes(attribute.String("a", "1"), attribute.String("b", "2")))
	c.AddEvent("e")
	c.End()
	root.End()
	if st := kp.Stats(); st.Dropped != 1 || st.DroppedAttributes != 0 || st.DroppedEvents != 0 {
		t.Errorf("stats %+v: want the trace dropped and nothing counted as cut", st)
	}
}

func TestMemoryCap(t *testing.T) {
	// Room for about two spans: the roots always fit, the children do not once it is full.
	tp, kp, exp := newCapture(t, unsampled, keep.WithMaxBytes(1500))
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	for i := range 10 {
		_, c := tr.Start(ctx, fmt.Sprint("child", i))
		c.End()
	}
	if st := kp.Stats(); st.BufferedBytes > 1500 || st.DroppedSpansMemory == 0 {
		t.Fatalf("stats %+v: want the buffer under its cap and drops counted", st)
	}
	root.SetStatus(codes.Error, "x")
	root.End()
	got := byName(exp.GetSpans())
	if got["root"].Name == "" || len(got) >= 11 {
		t.Fatalf("exported %d spans: want the root and what fitted", len(got))
	}
	if v, _ := attr(got["root"], keep.AttrDroppedSpans); v != fmt.Sprint(11-len(got)) {
		t.Errorf("%s = %q, want %d", keep.AttrDroppedSpans, v, 11-len(got))
	}
	if st := kp.Stats(); st.BufferedBytes != 0 {
		t.Errorf("%d bytes still buffered after the trace was kept", st.BufferedBytes)
	}
}

func TestMaxTraces(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled, keep.WithMaxTraces(2))
	tr := tp.Tracer("t")
	var roots []trace.Span
	for i := range 3 {
		_, r := tr.Start(context.Background(), fmt.Sprint("root", i))
		roots = append(roots, r)
	}
	if st := kp.Stats(); st.BufferedTraces != 2 || st.Untracked != 1 {
		t.Fatalf("stats %+v: want 2 buffered, 1 untracked", st)
	}
	for _, r := range roots {
		r.SetStatus(codes.Error, "x")
		r.End()
	}
	if got := byName(exp.GetSpans()); len(got) != 2 || got["root2"].Name != "" {
		t.Errorf("exported %v: want the two traces buffered", got)
	}
}

func TestKeepSignal(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled)
	tr := tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root", trace.WithSpanKind(trace.SpanKindServer))
	_, call := tr.Start(ctx, "call", trace.WithSpanKind(trace.SpanKindClient))
	if keepsignal.Received(call.SpanContext(), []string{"yes"}) {
		t.Error("a bad value was accepted")
	}
	if keepsignal.Received(call.SpanContext(), []string{"1", "1"}) {
		t.Error("a repeated value was accepted")
	}
	// A span ID the processor never saw as a client span of this trace is not its call.
	other := trace.NewSpanContext(trace.SpanContextConfig{TraceID: call.SpanContext().TraceID(), SpanID: trace.SpanID{9}})
	keepsignal.Received(other, []string{keepsignal.Value})
	call.End()
	if keepsignal.Respond(root.SpanContext(), false) {
		t.Fatal("Respond said kept before any signal")
	}
	if !keepsignal.Received(call.SpanContext(), []string{keepsignal.Value}) {
		t.Fatal("a good signal was refused")
	}
	if !keepsignal.Respond(root.SpanContext(), false) {
		t.Error("after the callee kept, the root's response should say kept too")
	}
	root.End()
	got := byName(exp.GetSpans())
	if len(got) != 2 {
		t.Fatalf("exported %v, want root and call", got)
	}
	if v, _ := attr(got["root"], keep.AttrReason); v != keep.ReasonCallee {
		t.Errorf("%s = %q, want %q", keep.AttrReason, v, keep.ReasonCallee)
	}
	if st := kp.Stats(); st.Signals != 1 || st.BadSignals != 2 || st.KeptCallee != 1 {
		t.Errorf("stats %+v: want 1 signal, 2 bad, 1 kept for the callee", st)
	}
}

func TestCalleeKeptAttribute(t *testing.T) {
	// Without the immediate signal (another transport, a late span), the attribute on the client
	// span is enough.
	tp, _, exp := newCapture(t, unsampled, keep.WithoutSignal())
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, call := tp.Tracer("t").Start(ctx, "call", trace.WithSpanKind(trace.SpanKindClient))
	call.SetAttributes(attribute.Bool(keep.AttrCalleeKept, true))
	call.End()
	root.End()
	if got := byName(exp.GetSpans()); len(got) != 2 {
		t.Fatalf("exported %v, want root and call", got)
	}
}

func TestRespondFailedKeeps(t *testing.T) {
	tp, _, exp := newCapture(t, unsampled)
	_, root := tp.Tracer("t").Start(context.Background(), "root", trace.WithSpanKind(trace.SpanKindServer))
	if !keepsignal.Respond(root.SpanContext(), true) {
		t.Fatal("a failed response should be kept")
	}
	root.End() // no error status on the span: the answer given is final
	if n := len(exp.GetSpans()); n != 1 {
		t.Fatalf("exported %d spans, want the root", n)
	}
}

func TestLateSpanOfKeptTrace(t *testing.T) {
	tp, _, exp := newCapture(t, unsampled)
	ctx, root := tp.Tracer("t").Start(context.Background(), "root")
	_, task := tp.Tracer("t").Start(ctx, "task")
	root.SetStatus(codes.Error, "x")
	root.End()
	task.End()
	if got := byName(exp.GetSpans()); got["task"].Name == "" || !got["task"].SpanContext.IsSampled() {
		t.Fatalf("the task that outlived its kept root was not exported: %v", got)
	}
}

func TestTwoLocalRootsOfOneTrace(t *testing.T) {
	// A service called twice in one trace: the call that ends first is fast, the second fails.
	// While the second is open, the first's spans wait; the failure keeps both.
	tp, _, exp := newCapture(t, unsampled)
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8}, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	_, a := tp.Tracer("t").Start(ctx, "a")
	_, b := tp.Tracer("t").Start(ctx, "b")
	a.End()
	b.SetStatus(codes.Error, "x")
	b.End()
	if got := byName(exp.GetSpans()); len(got) != 2 {
		t.Fatalf("exported %v, want both calls", got)
	}
}

func TestShutdownReleasesAndLeavesTheSignal(t *testing.T) {
	tp, kp, _ := newCapture(t, unsampled)
	_, root := tp.Tracer("t").Start(context.Background(), "root")
	if !keepsignal.Active() {
		t.Fatal("a running processor should take part in the keep signal")
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if keepsignal.Active() {
		t.Error("still registered after Shutdown")
	}
	if st := kp.Stats(); st.BufferedTraces != 0 || st.BufferedBytes != 0 {
		t.Errorf("stats %+v after Shutdown", st)
	}
	root.End()
}

func TestConcurrentTraces(t *testing.T) {
	tp, kp, exp := newCapture(t, unsampled)
	tr := tp.Tracer("t")
	var wg sync.WaitGroup
	const workers, each = 8, 200
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ctx, root := tr.Start(context.Background(), "root")
				_, c := tr.Start(ctx, "child")
				if (w*each+i)%10 == 0 {
					c.SetStatus(codes.Error, "x")
				}
				c.End()
				root.End()
			}
		})
	}
	wg.Wait()
	want := workers * each / 10
	if n := len(exp.GetSpans()); n != 2*want {
		t.Errorf("exported %d spans, want %d (2 per failed trace)", n, 2*want)
	}
	if st := kp.Stats(); st.KeptError != uint64(want) || st.Dropped != uint64(workers*each-want) || st.BufferedBytes != 0 {
		t.Errorf("stats %+v", st)
	}
}
