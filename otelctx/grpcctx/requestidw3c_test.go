package grpcctx_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestRequestIDWithW3COnlyPropagator: a client whose propagator knows only W3C trace context
// (propagation.TraceContext{} alone, which never writes x-request-id) still sends the context's
// request ID, once, and the server runs the call under it, in the caller's trace.
func TestRequestIDWithW3COnlyPropagator(t *testing.T) {
	r := startRig(t, nil, []grpcctx.Option{grpcctx.WithPropagator(propagation.TraceContext{})})
	in := incomingOf(r)
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	defer parent.End()
	if _, err := r.client.EmptyCall(otelctx.WithRequestID(ctx, "req-w3c-only"), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	md := <-in
	if v := md.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != "req-w3c-only" {
		t.Errorf("x-request-id on the wire %v, want [req-w3c-only]", v)
	}
	if got.requestID != "req-w3c-only" {
		t.Errorf("the server's request ID %q, want req-w3c-only", got.requestID)
	}
	if got.span.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("server trace %s, want the caller's %s (traceparent from the W3C propagator)", got.span.TraceID(), parent.SpanContext().TraceID())
	}
}
