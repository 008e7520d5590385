package trailgrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestOverTheWire: behind ctxtrail's gRPC stats handler on a real server, a panic in a unary or
// bidi handler reaches the client as Internal "internal error", the report carries the RPC's
// request ID and rpc.method, and the server keeps serving.
func TestOverTheWire(t *testing.T) {
	client, sink := startServer(t)

	ctx := otelctx.WithRequestID(context.Background(), "req-panic")
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
	if st, _ := status.FromError(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("unary call: %v, want Internal \"internal error\"", err)
	}
	reps := sink.Reports()
	if len(reps) != 1 || !reps[0].Panic || reps[0].RequestID != "req-panic" || reps[0].TraceID == "" {
		t.Fatalf("reports %+v, want one panic report for req-panic, in a trace", reps)
	}
	if m := field(reps[0], "rpc.method"); m != "grpc.testing.TestService/UnaryCall" {
		t.Errorf("report's rpc.method %q", m)
	}
	if _, err := client.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatalf("server after the panic: %v", err)
	}

	st, err := client.FullDuplexCall(otelctx.WithRequestID(context.Background(), "req-stream"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("panic")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("Recv: %v, want Internal", err)
	}
	reps = sink.Reports()
	if len(reps) != 2 || !reps[1].Panic || reps[1].RequestID != "req-stream" || len(reps[1].Breadcrumbs) != 1 {
		t.Fatalf("reports %+v, want a second panic report for req-stream with its crumb", reps)
	}
}

// panicService is grpc-go's interop TestService, whose handlers panic on the payload "panic".
type panicService struct {
	testpb.UnimplementedTestServiceServer
}

func (panicService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (panicService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if string(req.GetPayload().GetBody()) == "panic" {
		panic("payments: card processor returned garbage")
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (panicService) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		trail.AddBreadcrumb(ss.Context(), "message received")
		if string(req.GetPayload().GetBody()) == "panic" {
			panic("bidi handler gave up")
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// startServer serves panicService on loopback behind grpcctx's server side and the trail
// interceptors, and returns a client whose outgoing calls carry the request ID.
func startServer(t *testing.T) (testpb.TestServiceClient, *trail.MemorySink) {
	t.Helper()
	sink := trail.NewMemorySink(16)
	tp := sdktrace.NewTracerProvider()
	prop := propagators.New()
	srv := grpc.NewServer(append(grpcctx.ServerOptions(grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(prop)),
		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(sink))),
		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(trail.WithSink(sink))))...)
	testpb.RegisterTestServiceServer(srv, panicService{})
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
		grpc.WithStatsHandler(grpcctx.NewClientHandler(grpcctx.WithPropagator(prop))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
		_ = tp.Shutdown(context.Background())
	})
	return testpb.NewTestServiceClient(conn), sink
}

func field(r *trail.Report, key string) string {
	for _, kv := range r.Context {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
