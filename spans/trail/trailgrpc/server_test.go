package trailgrpc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestUnaryPanicBecomesInternal: a panic in a unary handler is recovered, answered with
// Internal "internal error", captured with the RPC's breadcrumbs (bounded by the options given)
// and recorded on the span in the context.
func TestUnaryPanicBecomesInternal(t *testing.T) {
	sink := trail.NewMemorySink(4)
	ctx, rec := spanContext(t)
	intercept := trailgrpc.UnaryServerInterceptor(trail.WithSink(sink), trail.WithMaxBreadcrumbs(1))
	resp, err := intercept(ctx, "req", &grpc.UnaryServerInfo{FullMethod: "/shop.Payments/Charge"},
		func(ctx context.Context, _ any) (any, error) {
			trail.AddBreadcrumb(ctx, "card checked")
			trail.AddBreadcrumb(ctx, "charging", attribute.Int("cents", 1299))
			panic("card processor returned garbage")
		})
	if st, _ := status.FromError(err); resp != nil || st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("interceptor: %v, %v, want nil, Internal \"internal error\"", resp, err)
	}
	reps := sink.Reports()
	if len(reps) != 1 {
		t.Fatalf("%d reports, want 1", len(reps))
	}
	rep := reps[0]
	if !rep.Panic || rep.StackSource != trail.StackFromPanic || rep.Message != "panic: card processor returned garbage" {
		t.Errorf("report: panic %v, stack %q, message %q", rep.Panic, rep.StackSource, rep.Message)
	}
	if len(rep.Breadcrumbs) != 1 || rep.Breadcrumbs[0].Message != "charging" || rep.BreadcrumbsDropped != 1 {
		t.Errorf("breadcrumbs %+v (dropped %d), want the last one only", rep.Breadcrumbs, rep.BreadcrumbsDropped)
	}
	endSpan(ctx)
	spans := rec.Ended()
	if len(spans) != 1 || rep.TraceID != spans[0].SpanContext().TraceID().String() {
		t.Fatalf("report trace %s, spans %d", rep.TraceID, len(spans))
	}
	if spans[0].Status().Code != otelcodes.Error || !hasEvent(spans[0], "exception") {
		t.Error("the panic is not recorded on the span")
	}
}

// TestUnaryPassesThrough: without a panic the handler's answer comes back untouched, and the
// handler ran with a fresh trail of its own, the caller's hidden.
func TestUnaryPassesThrough(t *testing.T) {
	outer := trail.Start(context.Background())
	trail.AddBreadcrumb(outer, "before the RPC")
	wantErr := status.Error(codes.NotFound, "no such order")
	var inner *trail.Trail
	resp, err := trailgrpc.UnaryServerInterceptor()(outer, "req", &grpc.UnaryServerInfo{},
		func(ctx context.Context, req any) (any, error) {
			inner = trail.FromContext(ctx)
			trail.AddBreadcrumb(ctx, "in the RPC")
			return req, wantErr
		})
	if resp != "req" || !errors.Is(err, wantErr) {
		t.Fatalf("interceptor: %v, %v, want the handler's answer", resp, err)
	}
	if inner == nil || inner == trail.FromContext(outer) || inner.Len() != 1 || trail.FromContext(outer).Len() != 1 {
		t.Errorf("handler's trail %p (len %d), caller's %p: want a fresh one", inner, inner.Len(), trail.FromContext(outer))
	}
}

// TestStreamPanicBecomesInternal: a streaming handler sees the trail in its stream's Context; a
// panic there, even with an error value, ends the stream with Internal and a report.
func TestStreamPanicBecomesInternal(t *testing.T) {
	sink := trail.NewMemorySink(4)
	ctx, _ := spanContext(t)
	defer endSpan(ctx)
	boom := errors.New("stream state lost")
	err := trailgrpc.StreamServerInterceptor(trail.WithSink(sink))(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{},
		func(_ any, ss grpc.ServerStream) error {
			if trail.FromContext(ss.Context()) == nil {
				t.Error("no trail in the stream's context")
			}
			trail.AddBreadcrumb(ss.Context(), "message received")
			panic(boom)
		})
	if st, _ := status.FromError(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("interceptor: %v, want Internal \"internal error\"", err)
	}
	reps := sink.Reports()
	if len(reps) != 1 || !reps[0].Panic || reps[0].Message != boom.Error() || len(reps[0].Breadcrumbs) != 1 {
		t.Fatalf("reports %+v, want one panic report with the stream's crumb", reps)
	}
}

// TestStreamPassesThrough: the handler's error comes back untouched.
func TestStreamPassesThrough(t *testing.T) {
	wantErr := status.Error(codes.Canceled, "client left")
	err := trailgrpc.StreamServerInterceptor()(nil, fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{},
		func(any, grpc.ServerStream) error { return wantErr })
	if !errors.Is(err, wantErr) {
		t.Fatalf("interceptor: %v, want %v", err, wantErr)
	}
}

// fakeStream is a grpc.ServerStream that only has a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }

// spanContext returns a context holding a recording span, and the recorder it ends in.
func spanContext(t *testing.T) (context.Context, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, _ := tp.Tracer("test").Start(context.Background(), "shop.Payments/Charge")
	return ctx, rec
}

func endSpan(ctx context.Context) { trace.SpanFromContext(ctx).End() }

func hasEvent(s sdktrace.ReadOnlySpan, name string) bool {
	for _, e := range s.Events() {
		if e.Name == name {
			return true
		}
	}
	return false
}
