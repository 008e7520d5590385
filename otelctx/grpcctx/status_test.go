package grpcctx_test

import (
	"context"
	"testing"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestStatusRules: the client marks every code but OK as an error; the server only the codes
// that mean it failed. Both record rpc.grpc.status_code.
func TestStatusRules(t *testing.T) {
	r := startRig(t, nil, nil)
	for _, tt := range []struct {
		code          codes.Code
		serverIsError bool
	}{
		{codes.InvalidArgument, false},
		{codes.NotFound, false},
		{codes.PermissionDenied, false},
		{codes.Canceled, false},
		{codes.Unknown, true},
		{codes.DeadlineExceeded, true},
		{codes.Unimplemented, true},
		{codes.Internal, true},
		{codes.Unavailable, true},
		{codes.DataLoss, true},
	} {
		t.Run(tt.code.String(), func(t *testing.T) {
			r.srvRec.Reset()
			r.cliRec.Reset()
			_, err := r.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
				ResponseStatus: &testpb.EchoStatus{Code: int32(tt.code), Message: "because"}})
			if status.Code(err) != tt.code {
				t.Fatalf("call: %v, want %v", err, tt.code)
			}
			r.call(t)
			checkStatus(t, r, tt.code, tt.serverIsError)
		})
	}
}

func checkStatus(t *testing.T, r *rig, code codes.Code, serverIsError bool) {
	t.Helper()
	const name = "grpc.testing.TestService/UnaryCall"
	cli, srv := ended(t, r.cliRec, name), ended(t, r.srvRec, name)
	for _, s := range []struct {
		side    string
		isError bool
		status  otelcodes.Code
		attr    string
	}{
		{"client", code != codes.OK, cli.Status().Code, mustAttr(t, cli, "rpc.response.status_code")},
		{"server", serverIsError, srv.Status().Code, mustAttr(t, srv, "rpc.response.status_code")},
	} {
		if want := canonical[code]; s.attr != want {
			t.Errorf("%s rpc.response.status_code %s, want %s", s.side, s.attr, want)
		}
		if (s.status == otelcodes.Error) != s.isError {
			t.Errorf("%s span status %v for %v, want error=%v", s.side, s.status, code, s.isError)
		}
	}
}

func mustAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string) string {
	t.Helper()
	v, ok := attrOf(s, key)
	if !ok {
		t.Errorf("%s: no %s", s.Name(), key)
	}
	return v
}

// TestDeadlineAndCancel: a call past its deadline and a cancelled call end both spans with the
// right code; a deadline is the server's error, a cancellation is not.
func TestDeadlineAndCancel(t *testing.T) {
	r := startRig(t, nil, nil)
	block := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("block")}}

	t.Run("deadline", func(t *testing.T) {
		r.srvRec.Reset()
		r.cliRec.Reset()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := r.client.UnaryCall(ctx, block)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call: %v", err)
		}
		r.call(t)
		// The client's span ends with DeadlineExceeded. The server sees either its own deadline
		// pass (DeadlineExceeded, its error) or, first, the client's cancellation of the stream
		// when the client's timer fired (Canceled, not its error): both are right.
		const name = "grpc.testing.TestService/UnaryCall"
		srv := ended(t, r.srvRec, name)
		switch code := mustAttr(t, srv, "rpc.response.status_code"); code {
		case "DEADLINE_EXCEEDED":
			checkStatus(t, r, codes.DeadlineExceeded, true)
		case "CANCELLED":
			if srv.Status().Code == otelcodes.Error {
				t.Error("server span marked as an error for a cancellation")
			}
			cli := ended(t, r.cliRec, name)
			if c := mustAttr(t, cli, "rpc.response.status_code"); c != "DEADLINE_EXCEEDED" || cli.Status().Code != otelcodes.Error {
				t.Errorf("client span: code %s status %v, want DEADLINE_EXCEEDED and error", c, cli.Status().Code)
			}
		default:
			t.Errorf("server rpc.response.status_code %s, want DEADLINE_EXCEEDED or CANCELLED", code)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		r.srvRec.Reset()
		r.cliRec.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := r.client.UnaryCall(ctx, block)
			done <- err
		}()
		r.call(t) // the handler is running, blocked
		cancel()
		if err := <-done; status.Code(err) != codes.Canceled {
			t.Fatalf("call: %v", err)
		}
		checkStatus(t, r, codes.Canceled, false)
	})
}

// canonical is rpc.response.status_code's value for each code: the name the gRPC status code
// specification gives it.
var canonical = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}
