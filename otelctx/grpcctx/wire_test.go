package grpcctx_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// incomingOf makes the rig's handlers record the incoming metadata of each call.
func incomingOf(r *rig) chan metadata.MD {
	ch := make(chan metadata.MD, 16)
	r.svc.hook = func(ctx context.Context) {
		md, _ := metadata.FromIncomingContext(ctx)
		select {
		case ch <- md:
		default:
		}
	}
	return ch
}

// TestWireDefault: by default a gRPC call carries traceparent and x-request-id but not
// x-trace-id or x-span-id, and the response echoes x-request-id only.
func TestWireDefault(t *testing.T) {
	r := startRig(t, nil, nil)
	in := incomingOf(r)
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	defer parent.End()
	var hdr metadata.MD
	if _, err := r.client.EmptyCall(otelctx.WithRequestID(ctx, "req-w"), &testpb.Empty{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	r.call(t)
	md := <-in
	if len(md.Get("traceparent")) != 1 || md.Get(propagators.HeaderRequestID)[0] != "req-w" {
		t.Errorf("incoming %v: want traceparent and x-request-id", md)
	}
	for _, k := range []string{propagators.HeaderTraceID, propagators.HeaderSpanID} {
		if v := md.Get(k); len(v) != 0 {
			t.Errorf("%s %v sent on a gRPC hop without WithXTraceHeaders", k, v)
		}
	}
	if v := hdr.Get(propagators.HeaderTraceID); len(v) != 0 {
		t.Errorf("response x-trace-id %v without WithXTraceHeaders", v)
	}
	if v := hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != "req-w" {
		t.Errorf("response x-request-id %v, want [req-w]", v)
	}
}

// TestWithXTraceHeaders: the option puts x-trace-id and x-span-id (the client span's) on the
// wire and makes the server echo x-trace-id.
func TestWithXTraceHeaders(t *testing.T) {
	r := startRig(t, []grpcctx.Option{grpcctx.WithXTraceHeaders()}, []grpcctx.Option{grpcctx.WithXTraceHeaders()})
	in := incomingOf(r)
	var hdr metadata.MD
	if _, err := r.client.EmptyCall(context.Background(), &testpb.Empty{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	md := <-in
	cli := ended(t, r.cliRec, "grpc.testing.TestService/EmptyCall")
	if v := md.Get(propagators.HeaderTraceID); len(v) != 1 || v[0] != cli.SpanContext().TraceID().String() {
		t.Errorf("x-trace-id %v, want the client span's trace %s", v, cli.SpanContext().TraceID())
	}
	if v := md.Get(propagators.HeaderSpanID); len(v) != 1 || v[0] != cli.SpanContext().SpanID().String() {
		t.Errorf("x-span-id %v, want the client span %s", v, cli.SpanContext().SpanID())
	}
	if v := hdr.Get(propagators.HeaderTraceID); len(v) != 1 || v[0] != got.span.TraceID().String() {
		t.Errorf("response x-trace-id %v, want %s", v, got.span.TraceID())
	}
	if v := hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != got.requestID {
		t.Errorf("response x-request-id %v, want [%s]", v, got.requestID)
	}
}

// TestLegacyXTraceCaller: a caller that sends only x-trace-id and x-span-id still joins the
// trace: the server reads them when no traceparent came.
func TestLegacyXTraceCaller(t *testing.T) {
	r := startRig(t, nil, nil)
	if st := rawCall(t, r.addr, [][2]string{{"x-trace-id", goodTraceID}, {"x-span-id", "00f067aa0ba902b7"}}); st != "0" {
		t.Fatalf("grpc-status %q", st)
	}
	got := r.call(t)
	if got.span.TraceID().String() != goodTraceID {
		t.Errorf("trace %s, want the caller's %s", got.span.TraceID(), goodTraceID)
	}
	srv := ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
	if srv.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("server span's parent %s, want the caller's x-span-id", srv.Parent().SpanID())
	}
}

// TestForwardedXTraceRemoved: x-trace-id and x-span-id already in the outgoing metadata (say,
// an incoming call's metadata forwarded whole) name another span: they are removed, not sent.
func TestForwardedXTraceRemoved(t *testing.T) {
	r := startRig(t, nil, nil)
	in := incomingOf(r)
	ctx := metadata.AppendToOutgoingContext(context.Background(),
		propagators.HeaderTraceID, goodTraceID, propagators.HeaderSpanID, "00f067aa0ba902b7", "tenant", "acme")
	if _, err := r.client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	md := <-in
	if len(md.Get(propagators.HeaderTraceID)) != 0 || len(md.Get(propagators.HeaderSpanID)) != 0 {
		t.Errorf("forwarded x-headers sent: %v", md)
	}
	if v := md.Get("tenant"); len(v) != 1 || v[0] != "acme" {
		t.Errorf("other metadata lost: %v", md)
	}
	if got.span.TraceID().String() == goodTraceID {
		t.Error("the server joined the forwarded x-trace-id instead of the client span's trace")
	}
}

// TestRequestIDOnSpans: the client and server spans carry the request ID as
// otelctx.AttrRequestID, as the HTTP spans do, so a tag search for an ID from a log line finds
// the gRPC hop; at a trust boundary the server span has the ID the RPC ran under.
func TestRequestIDOnSpans(t *testing.T) {
	r := startRig(t, nil, nil)
	if _, err := r.client.EmptyCall(otelctx.WithRequestID(context.Background(), "req-span"), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	r.call(t)
	cli := ended(t, r.cliRec, "grpc.testing.TestService/EmptyCall")
	srv := ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
	for side, s := range map[string]sdktrace.ReadOnlySpan{"client": cli, "server": srv} {
		if v, _ := attrOf(s, otelctx.AttrRequestID); v != "req-span" {
			t.Errorf("%s span %s = %q, want req-span", side, otelctx.AttrRequestID, v)
		}
		if v, _ := attrOf(s, "rpc.response.status_code"); v != "OK" {
			t.Errorf("%s span lost rpc.response.status_code: %q", side, v)
		}
	}

	// Without a request ID in the caller's context the client span has none; the server made one.
	r.cliRec.Reset()
	r.srvRec.Reset()
	if _, err := r.client.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	cli = ended(t, r.cliRec, "grpc.testing.TestService/EmptyCall")
	srv = ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
	if v, ok := attrOf(cli, otelctx.AttrRequestID); ok {
		t.Errorf("client span %s = %q without a request ID", otelctx.AttrRequestID, v)
	}
	if v, _ := attrOf(srv, otelctx.AttrRequestID); v != got.requestID || v == "" {
		t.Errorf("server span %s = %q, want the new ID %q", otelctx.AttrRequestID, v, got.requestID)
	}

	b := startRig(t, []grpcctx.Option{grpcctx.WithTrustBoundary()}, nil)
	if _, err := b.client.EmptyCall(otelctx.WithRequestID(context.Background(), "req-outside"), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got = b.call(t)
	srv = ended(t, b.srvRec, "grpc.testing.TestService/EmptyCall")
	if v, _ := attrOf(srv, otelctx.AttrRequestID); v != got.requestID || v == "req-outside" {
		t.Errorf("boundary server span %s = %q, want the RPC's own %q", otelctx.AttrRequestID, v, got.requestID)
	}
}

// TestEchoConcurrent: many concurrent calls each get their own request ID back (the echo reuses
// its metadata between calls).
func TestEchoConcurrent(t *testing.T) {
	r := startRig(t, nil, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				id := fmt.Sprintf("req-%d-%d", g, i)
				var hdr metadata.MD
				if _, err := r.client.EmptyCall(otelctx.WithRequestID(context.Background(), id), &testpb.Empty{}, grpc.Header(&hdr)); err != nil {
					errs <- err
					return
				}
				if v := hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != id {
					errs <- fmt.Errorf("call %s: echoed %v", id, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// headerStream is a grpc.ServerTransportStream that keeps what SetHeader is given, merged as
// grpc-go's own stream merges it (metadata.Join copies).
type headerStream struct {
	grpc.ServerTransportStream
	hdr metadata.MD
}

func (s *headerStream) SetHeader(md metadata.MD) error { s.hdr = metadata.Join(s.hdr, md); return nil }

type nopStream struct{ grpc.ServerTransportStream }

func (nopStream) SetHeader(metadata.MD) error { return nil }

// TestAllocHandlers pins what ctxtrail's handlers allocate per unary RPC with the SDK (a
// recording span, no span processor, no metrics), besides grpc-go's own work: the server handler for a call
// with traceparent and x-request-id, the client handler for a call whose context has a request
// ID, and the echo interceptor. Raise a pin only with a reason; BENCHMARKS.md's gRPC row says
// what the whole round trip costs.
func TestAllocHandlers(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	opts := []grpcctx.Option{grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()),
		grpcctx.WithWarnLimiter(propagators.NewWarnLimiter(0, func(error) {})),
		grpcctx.WithMeterProvider(noop.NewMeterProvider())} // TestAllocRPCMetrics pins the metrics
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/EmptyCall"}
	end := &stats.End{}

	srv := grpcctx.NewServerHandler(opts...)
	in := metadata.NewIncomingContext(context.Background(), metadata.MD{
		"traceparent": {goodParent}, "x-request-id": {"req-alloc"}, ":authority": {"x"}, "content-type": {"application/grpc"}})
	// extract: the remote parent 2; the node holding the request ID and store 1 (3 before
	// issue 31: the request ID's entry 2, the store's 1); the span 4 (span, its start
	// attributes, its attribute slice, the context), its request ID 1 (the slice growing to
	// room for the status code; the argument lives in the node since issue 31's contract pass).
	pin(t, "server handler", 8, func() {
		c := srv.TagRPC(in, info)
		srv.HandleRPC(c, end)
	})

	cli := grpcctx.NewClientHandler(opts...)
	out := otelctx.WithRequestID(context.Background(), "req-alloc")
	// the span 4, its request ID 2, traceparent 1, the outgoing metadata 4 (grpc-go's
	// AppendToOutgoingContext: its copy, its list, its value, the context).
	pin(t, "client handler", 11, func() {
		c := cli.TagRPC(out, info)
		cli.HandleRPC(c, end)
	})

	echo := grpcctx.UnaryServerInterceptor()
	sc := grpc.NewContextWithServerTransportStream(otelctx.WithRequestID(context.Background(), "req-alloc"), nopStream{})
	handler := func(context.Context, any) (any, error) { return nil, nil }
	pin(t, "echo interceptor", 0, func() { _, _ = echo(sc, nil, nil, handler) })

	// The echo's metadata reaches the stream intact.
	hs := &headerStream{}
	_, _ = echo(grpc.NewContextWithServerTransportStream(otelctx.WithRequestID(context.Background(), "req-e"), hs), nil, nil, handler)
	if v := hs.hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != "req-e" {
		t.Errorf("echoed %v", hs.hdr)
	}
}

func pin(t *testing.T, what string, want float64, f func()) {
	t.Helper()
	f() // caches
	if got := testing.AllocsPerRun(200, f); got > want {
		t.Errorf("%s: %.0f allocations per RPC, pinned at %.0f", what, got, want)
	} else if got < want {
		t.Logf("%s: %.0f allocations per RPC, pinned at %.0f: lower the pin", what, got, want)
	}
}
