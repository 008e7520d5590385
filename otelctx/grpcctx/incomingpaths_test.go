package grpcctx_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// b3Single is a minimal B3 single-header propagator ("b3: {trace}-{span}-1"), standing for any
// propagator that reads a header ctxtrail itself does not.
type b3Single struct{}

func (b3Single) Inject(context.Context, propagation.TextMapCarrier) {}

func (b3Single) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	parts := strings.Split(c.Get("b3"), "-")
	var cfg trace.SpanContextConfig
	if len(parts) < 2 || !decodeInto(cfg.TraceID[:], parts[0]) || !decodeInto(cfg.SpanID[:], parts[1]) {
		return ctx
	}
	cfg.TraceFlags, cfg.Remote = trace.FlagsSampled, true
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(cfg))
}

// decodeInto decodes s, hex of exactly len(dst) bytes, into dst.
func decodeInto(dst []byte, s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == len(dst) && copy(dst, b) == len(dst)
}

func (b3Single) Fields() []string { return []string{"b3"} }

// handlerView is what a server handler sees of one call's incoming metadata.
type handlerView struct {
	traceID, parentSpanID, requestID, baggage, tracestate string
	warnings                                              uint64
}

func (v handlerView) String() string {
	return fmt.Sprintf("trace %s parent %s request %q baggage %q tracestate %q warnings %d",
		v.traceID, v.parentSpanID, v.requestID, v.baggage, v.tracestate, v.warnings)
}

// TestIncomingMetadataPaths: the server handler reads grpc-go's incoming metadata in place, or,
// when grpc-go's context key is unknown, copies out the keys it reads. Both paths, each behind a
// real server, must give the handler the same thing for the same metadata: the trace (from
// traceparent, from x-trace-id and x-span-id alone, or from a header only the propagator
// knows), the request ID, the baggage, the tracestate and the warnings about bad values.
func TestIncomingMetadataPaths(t *testing.T) {
	const spanID = "00f067aa0ba902b7"
	for _, tt := range []struct {
		name string
		md   metadata.MD
		want handlerView                   // the fields to check; empty ones are not
		prop propagation.TextMapPropagator // the server's; nil: ctxtrail's and b3Single
	}{
		{"w3c", metadata.Pairs("traceparent", goodParent, "tracestate", "vendor=abc", "baggage", "tenant.id=acme", "x-request-id", "req-w3c"),
			handlerView{traceID: goodTraceID, parentSpanID: spanID, requestID: "req-w3c", baggage: "tenant.id=acme", tracestate: "vendor=abc"}, nil},
		{"x-headers only", metadata.Pairs("x-trace-id", goodTraceID, "x-span-id", spanID, "x-request-id", "req-x", "baggage", "tenant.id=acme"),
			handlerView{traceID: goodTraceID, parentSpanID: spanID, requestID: "req-x", baggage: "tenant.id=acme"}, nil},
		{"bad x-span-id", metadata.Pairs("x-trace-id", goodTraceID, "x-span-id", "zz", "x-request-id", "req-bad"),
			handlerView{traceID: goodTraceID, requestID: "req-bad", warnings: 1}, nil},
		// The checks read the x-headers whatever the propagator reads.
		{"bad x-span-id, W3C-only server", metadata.Pairs("x-trace-id", goodTraceID, "x-span-id", "zz", "x-request-id", "req-w3c-bad"),
			handlerView{requestID: "req-w3c-bad", warnings: 1}, propagation.TraceContext{}},
		{"header only the propagator reads", metadata.Pairs("b3", goodTraceID+"-"+spanID+"-1", "x-request-id", "req-b3"),
			handlerView{traceID: goodTraceID, parentSpanID: spanID, requestID: "req-b3"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prop := tt.prop
			if prop == nil {
				prop = propagation.NewCompositeTextMapPropagator(propagators.New(), b3Single{})
			}
			inPlace := viewThrough(t, false, prop, tt.md)
			copied := viewThrough(t, true, prop, tt.md)
			if inPlace.traceID == copied.traceID && tt.want.traceID == "" {
				t.Errorf("both paths made trace %s: want a fresh trace each", inPlace.traceID)
			}
			if tt.want.traceID == "" {
				inPlace.traceID, copied.traceID = "", "" // fresh traces, compared above
			}
			if inPlace != copied {
				t.Errorf("the handler sees\n  in place: %v\n  copied:   %v", inPlace, copied)
			}
			for path, got := range map[string]handlerView{"in place": inPlace, "copied": copied} {
				if !matches(got, tt.want) {
					t.Errorf("%s: the handler sees %v, want %v", path, got, tt.want)
				}
			}
		})
	}
}

// matches reports whether got has want's non-empty fields (and its warning count).
func matches(got, want handlerView) bool {
	eq := func(g, w string) bool { return w == "" || g == w }
	return eq(got.traceID, want.traceID) && eq(got.parentSpanID, want.parentSpanID) &&
		eq(got.requestID, want.requestID) && eq(got.baggage, want.baggage) &&
		eq(got.tracestate, want.tracestate) && got.warnings == want.warnings
}

// viewThrough sends md, as it is, to a real server (copying the incoming metadata when copying)
// whose propagator is prop, and returns what the handler saw.
func viewThrough(t *testing.T, copying bool, prop propagation.TextMapPropagator, md metadata.MD) handlerView {
	t.Helper()
	var v handlerView
	t.Run(map[bool]string{false: "in place", true: "copied"}[copying], func(t *testing.T) {
		if copying {
			// Registered first, so it runs after the rig has stopped its server.
			t.Cleanup(grpcctx.CopyIncomingMetadata())
		}
		r := startRig(t, []grpcctx.Option{grpcctx.WithPropagator(prop)}, nil)
		// Sent through a stats-handler-free connection so the metadata arrives unchanged.
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 10*time.Second)
		defer cancel()
		before := r.warn.Total()
		if _, err := plainClient(t, r.addr).EmptyCall(ctx, &testpb.Empty{}); err != nil {
			t.Fatal(err)
		}
		got := r.call(t)
		srv := ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
		v = handlerView{
			traceID:    got.span.TraceID().String(),
			requestID:  got.requestID,
			baggage:    baggage.FromContext(got.ctx).String(),
			tracestate: got.span.TraceState().String(),
			warnings:   r.warn.Total() - before,
		}
		if srv.Parent().IsValid() {
			v.parentSpanID = srv.Parent().SpanID().String()
		}
	})
	return v
}

// plainClient is a client of the test service at addr without ctxtrail: what a call's context
// holds as outgoing metadata goes out unchanged.
func plainClient(t *testing.T, addr string) testpb.TestServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return testpb.NewTestServiceClient(conn)
}
