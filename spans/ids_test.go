package spans

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestIDs(t *testing.T) {
	tp, _ := newProvider(t)
	rootCtx, root := tp.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	childCtx, child := tp.Tracer("test").Start(rootCtx, "child")
	defer child.End()
	newRootCtx, newRoot := tp.Tracer("test").Start(rootCtx, "new root", trace.WithNewRoot())
	defer newRoot.End()

	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = never.Shutdown(context.Background()) }()
	droppedCtx, dropped := never.Tracer("test").Start(rootCtx, "dropped")
	defer dropped.End()

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xaa}, SpanID: trace.SpanID{0xbb}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	remoteCtx := trace.ContextWithRemoteSpanContext(context.Background(), remote)

	rootSC, childSC := root.SpanContext(), child.SpanContext()
	tests := []struct {
		name string
		ctx  context.Context
		want IDs
	}{
		{name: "nil context", ctx: nil, want: IDs{}},
		{name: "no span", ctx: context.Background(), want: IDs{}},
		{name: "root", ctx: rootCtx, want: IDs{TraceID: rootSC.TraceID(), SpanID: rootSC.SpanID(), Sampled: true}},
		{name: "child", ctx: childCtx, want: IDs{
			TraceID: rootSC.TraceID(), SpanID: childSC.SpanID(), ParentSpanID: rootSC.SpanID(), Sampled: true,
		}},
		{name: "new root under a span", ctx: newRootCtx, want: IDs{
			TraceID: newRoot.SpanContext().TraceID(), SpanID: newRoot.SpanContext().SpanID(), Sampled: true,
		}},
		{name: "sampled out: parent unknown", ctx: droppedCtx, want: IDs{
			TraceID: rootSC.TraceID(), SpanID: dropped.SpanContext().SpanID(),
		}},
		{name: "remote", ctx: remoteCtx, want: IDs{TraceID: remote.TraceID(), SpanID: remote.SpanID(), Sampled: true, Remote: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IDsFrom(tt.ctx)
			if got != tt.want {
				t.Fatalf("IDsFrom = %+v, want %+v", got, tt.want)
			}
			hex := func(valid bool, s interface{ String() string }) string {
				if !valid {
					return ""
				}
				return s.String()
			}
			if s := TraceID(tt.ctx); s != hex(tt.want.TraceID.IsValid(), tt.want.TraceID) {
				t.Errorf("TraceID = %q", s)
			}
			if s := SpanID(tt.ctx); s != hex(tt.want.SpanID.IsValid(), tt.want.SpanID) {
				t.Errorf("SpanID = %q", s)
			}
			if s := ParentSpanID(tt.ctx); s != hex(tt.want.ParentSpanID.IsValid(), tt.want.ParentSpanID) {
				t.Errorf("ParentSpanID = %q", s)
			}
		})
	}
}
