package grpcctx_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// seen is what a test service's handler found in its context.
type seen struct {
	method    string
	span      trace.SpanContext
	requestID string
	fields    map[string]string
	ctx       context.Context
}

// testService is grpc-go's interop TestService: unary, server-, client- and bidi-streaming.
// Every handler reports its context on calls. A unary request whose payload body is "panic"
// panics; "block" waits for the context to end and returns its error.
type testService struct {
	testpb.UnimplementedTestServiceServer
	calls chan seen
	hook  func(ctx context.Context) // run in every handler, if set
}

func (s *testService) observe(ctx context.Context, method string) {
	f := map[string]string{}
	for kv := range otelctx.FieldsFrom(ctx).All() {
		f[string(kv.Key)] = kv.Value.Emit()
	}
	if s.hook != nil {
		s.hook(ctx)
	}
	select {
	case s.calls <- seen{method: method, span: trace.SpanContextFromContext(ctx), requestID: otelctx.RequestID(ctx), fields: f, ctx: ctx}:
	default:
	}
}

func (s *testService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	s.observe(ctx, "EmptyCall")
	return &testpb.Empty{}, nil
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.observe(ctx, "UnaryCall")
	switch string(req.GetPayload().GetBody()) {
	case "panic":
		panic("payments: card processor returned garbage")
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if st := req.GetResponseStatus(); st != nil {
		return nil, status.Error(codesOf(st.GetCode()), st.GetMessage())
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (s *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	s.observe(ss.Context(), "StreamingOutputCall")
	for range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testService) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	s.observe(ss.Context(), "StreamingInputCall")
	total := 0
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

func (s *testService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	s.observe(ss.Context(), "FullDuplexCall")
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if string(req.GetPayload().GetBody()) == "panic" {
			panic("bidi handler gave up")
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// rig is a real grpc.Server on loopback TCP with ctxtrail's server side, and a client
// connection with ctxtrail's client side, each with its own tracer provider and recorder.
type rig struct {
	svc       *testService
	srvRec    *tracetest.SpanRecorder
	cliRec    *tracetest.SpanRecorder
	cliTP     *sdktrace.TracerProvider
	client    testpb.TestServiceClient
	conn      *grpc.ClientConn
	addr      string
	warn      *propagators.WarnLimiter
	warnings  *warnSink
	reports   *trail.MemorySink
	srvCalled sync.WaitGroup
}

type warnSink struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnSink) add(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *warnSink) all() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func startRig(t *testing.T, srvOpts, cliOpts []grpcctx.Option) *rig {
	t.Helper()
	return startRigWith(t, srvOpts, cliOpts)
}

// startRigWith is startRig with grpc server options applied after ServerOptions' own.
func startRigWith(t *testing.T, srvOpts, cliOpts []grpcctx.Option, extra ...grpc.ServerOption) *rig {
	t.Helper()
	r := &rig{
		svc:      &testService{calls: make(chan seen, 16)},
		srvRec:   tracetest.NewSpanRecorder(),
		cliRec:   tracetest.NewSpanRecorder(),
		warnings: &warnSink{},
		reports:  trail.NewMemorySink(16),
	}
	// A limiter that reports every warning, so tests can count them.
	r.warn = propagators.NewWarnLimiter(time.Nanosecond, r.warnings.add)
	srvTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.srvRec))
	r.cliTP = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.cliRec))
	prop := propagators.New()
	so := append([]grpcctx.Option{grpcctx.WithTracerProvider(srvTP), grpcctx.WithPropagator(prop), grpcctx.WithWarnLimiter(r.warn)}, srvOpts...)
	srv := grpc.NewServer(append(append(grpcctx.ServerOptions(so...),
		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(r.reports))),
		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(trail.WithSink(r.reports)))), extra...)...)
	testpb.RegisterTestServiceServer(srv, r.svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = lis.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	co := append([]grpcctx.Option{grpcctx.WithTracerProvider(r.cliTP), grpcctx.WithPropagator(prop)}, cliOpts...)
	conn, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(grpcctx.NewClientHandler(co...)))
	if err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	r.client = testpb.NewTestServiceClient(conn)
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
		_ = srvTP.Shutdown(context.Background())
		_ = r.cliTP.Shutdown(context.Background())
	})
	return r
}

// call waits for the next handler observation.
func (r *rig) call(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-r.svc.calls:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not called")
		return seen{}
	}
}

// ended waits until rec holds an ended span named name (spans end on the server after the
// client has its answer).
func ended(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range rec.Ended() {
			if s.Name() == name {
				return s
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no ended span %q", name)
	return nil
}

func attrOf(s sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit(), true
		}
	}
	return "", false
}
