package grpcctx_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/spans/keep"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

func newKeepTP(t *testing.T) (*sdktrace.TracerProvider, *keep.Processor, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	kp := keep.NewProcessor([]sdktrace.SpanProcessor{sdktrace.NewSimpleSpanProcessor(exp)})
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(keep.Sampler(sdktrace.ParentBased(sdktrace.NeverSample()))),
		sdktrace.WithSpanProcessor(kp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, kp, exp
}

type keepRig struct {
	client         testpb.TestServiceClient
	cliTP, srvTP   *sdktrace.TracerProvider
	cliKP          *keep.Processor
	cliExp, srvExp *tracetest.InMemoryExporter
}

// startKeepRig runs the interop test service on loopback behind ServerOptions, whose handler
// runs hook, and a client through NewClientHandler; each side has its own capture.
func startKeepRig(t *testing.T, hook func(context.Context), srvOpts, cliOpts []grpcctx.Option) *keepRig {
	t.Helper()
	r := &keepRig{}
	r.srvTP, _, r.srvExp = newKeepTP(t)
	r.cliTP, r.cliKP, r.cliExp = newKeepTP(t)
	prop := propagation.TraceContext{}
	srv := grpc.NewServer(grpcctx.ServerOptions(append([]grpcctx.Option{
		grpcctx.WithTracerProvider(r.srvTP), grpcctx.WithPropagator(prop)}, srvOpts...)...)...)
	testpb.RegisterTestServiceServer(srv, &testService{calls: make(chan seen, 16), hook: hook})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(grpcctx.NewClientHandler(append([]grpcctx.Option{
			grpcctx.WithTracerProvider(r.cliTP), grpcctx.WithPropagator(prop)}, cliOpts...)...)))
	if err != nil {
		t.Fatal(err)
	}
	r.client = testpb.NewTestServiceClient(conn)
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return r
}

// call makes one unary call under a local root of the client's ("job"), which succeeds
// whatever the call returns, and ends the root.
func (r *keepRig) call(req *testpb.SimpleRequest) {
	ctx, job := r.cliTP.Tracer("client").Start(context.Background(), "job")
	_, _ = r.client.UnaryCall(ctx, req)
	job.End()
}

// serverSpans waits for the server to export n spans and returns how many it did. The server's
// span ends at the stats handler's End event, which grpc-go may deliver after the client has its
// answer: a bounded wait, not a timing assertion.
func (r *keepRig) serverSpans(n int) int {
	deadline := time.Now().Add(10 * time.Second)
	for len(r.srvExp.GetSpans()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return len(r.srvExp.GetSpans())
}

func failInsideRPC(tp *sdktrace.TracerProvider) func(context.Context) {
	return func(ctx context.Context) {
		_, s := tp.Tracer("server").Start(ctx, "cache refresh")
		s.SetStatus(codes.Error, "stale")
		s.End()
	}
}

func TestKeepSignalOverGRPC(t *testing.T) {
	var r *keepRig
	r = startKeepRig(t, func(ctx context.Context) { failInsideRPC(r.srvTP)(ctx) }, nil, nil)
	r.call(&testpb.SimpleRequest{})
	if n := r.serverSpans(2); n != 2 {
		t.Fatalf("server exported %d spans, want its server span and the failed one", n)
	}
	spans := r.cliExp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("client exported %d spans, want job and the call: the server kept", len(spans))
	}
	for _, s := range spans {
		if s.SpanKind.String() != "client" {
			continue
		}
		found := false
		for _, kv := range s.Attributes {
			found = found || (string(kv.Key) == keep.AttrCalleeKept && kv.Value.AsBool())
		}
		if !found {
			t.Errorf("client span lacks %s", keep.AttrCalleeKept)
		}
	}
	if st := r.cliKP.Stats(); st.KeptCallee != 1 {
		t.Errorf("client stats %+v", st)
	}
}

func TestKeepSignalOverGRPCOnError(t *testing.T) {
	r := startKeepRig(t, nil, nil, nil)
	r.call(&testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(grpccodes.Unavailable), Message: "down"}})
	if n, m := r.serverSpans(1), len(r.cliExp.GetSpans()); n != 1 || m != 2 {
		t.Fatalf("exported %d server and %d client spans, want 1 and 2", n, m)
	}
}

func TestKeepSignalOverGRPCFastSuccessDropped(t *testing.T) {
	r := startKeepRig(t, nil, nil, nil)
	for range 3 {
		r.call(&testpb.SimpleRequest{})
	}
	if n, m := len(r.srvExp.GetSpans()), len(r.cliExp.GetSpans()); n != 0 || m != 0 {
		t.Fatalf("exported %d server and %d client spans of fast successful calls", n, m)
	}
}

func TestKeepSignalOverGRPCNotAcrossTrustBoundary(t *testing.T) {
	var r *keepRig
	r = startKeepRig(t, func(ctx context.Context) { failInsideRPC(r.srvTP)(ctx) }, []grpcctx.Option{grpcctx.WithTrustBoundary()}, nil)
	r.call(&testpb.SimpleRequest{})
	if n := r.serverSpans(2); n != 2 {
		t.Fatalf("server exported %d spans: it keeps its own part whatever it tells", n)
	}
	if n := len(r.cliExp.GetSpans()); n != 0 {
		t.Fatalf("client exported %d spans: a server at a trust boundary must not tell", n)
	}
}

func TestKeepSignalOverGRPCIgnoredWithoutKeepSignal(t *testing.T) {
	var r *keepRig
	r = startKeepRig(t, func(ctx context.Context) { failInsideRPC(r.srvTP)(ctx) }, nil, []grpcctx.Option{grpcctx.WithoutKeepSignal()})
	r.call(&testpb.SimpleRequest{})
	if n := r.serverSpans(2); n != 2 {
		t.Fatalf("server exported %d spans: it kept, so there was a signal to ignore", n)
	}
	if n := len(r.cliExp.GetSpans()); n != 0 {
		t.Fatalf("client exported %d spans though it ignores the signal", n)
	}
}
