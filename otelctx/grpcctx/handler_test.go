package grpcctx_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

func codesOf(c int32) codes.Code { return codes.Code(c) }

// TestUnaryCarriesTheRequestContext: one unary call carries the trace, the request ID and the
// baggage to the server, whose span is the client span's child, whose request store holds the
// rpc fields, and whose answer echoes the IDs in the header metadata.
func TestUnaryCarriesTheRequestContext(t *testing.T) {
	r := startRig(t, nil, nil)
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	ctx = otelctx.WithRequestID(ctx, "req-42")
	m, _ := baggage.NewMember("tenant.id", "acme")
	b, _ := baggage.New(m)
	ctx = baggage.ContextWithBaggage(ctx, b)

	var hdr metadata.MD
	if _, err := r.client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	parent.End()
	got := r.call(t)
	cli := ended(t, r.cliRec, "grpc.testing.TestService/UnaryCall")
	srv := ended(t, r.srvRec, "grpc.testing.TestService/UnaryCall")

	if got.span.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("server trace %s, want the caller's %s", got.span.TraceID(), parent.SpanContext().TraceID())
	}
	if srv.Parent().SpanID() != cli.SpanContext().SpanID() || !srv.Parent().IsRemote() {
		t.Errorf("server span's parent %s, want the client span %s (remote)", srv.Parent().SpanID(), cli.SpanContext().SpanID())
	}
	if cli.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span's parent %s, want the caller's span", cli.Parent().SpanID())
	}
	if got.requestID != "req-42" {
		t.Errorf("request ID %q, want req-42", got.requestID)
	}
	if v := baggage.FromContext(got.ctx).Member("tenant.id").Value(); v != "acme" {
		t.Errorf("baggage tenant.id %q, want acme", v)
	}
	if got.fields["rpc.method"] != "grpc.testing.TestService/UnaryCall" {
		t.Errorf("request store %v, want rpc.method", got.fields)
	}
	if v := hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != "req-42" {
		t.Errorf("response x-request-id %v, want [req-42]", v)
	}
	for _, s := range []struct {
		span interface {
			SpanKind() trace.SpanKind
		}
		kind trace.SpanKind
	}{{cli, trace.SpanKindClient}, {srv, trace.SpanKindServer}} {
		if s.span.SpanKind() != s.kind {
			t.Errorf("span kind %v, want %v", s.span.SpanKind(), s.kind)
		}
	}
	for _, s := range []string{"client", "server"} {
		span := cli
		if s == "server" {
			span = srv
		}
		for k, want := range map[string]string{"rpc.system.name": "grpc",
			"rpc.method": "grpc.testing.TestService/UnaryCall", "rpc.response.status_code": "OK"} {
			if v, _ := attrOf(span, k); v != want {
				t.Errorf("%s span %s = %q, want %q", s, k, v, want)
			}
		}
		if span.Status().Code != otelcodes.Unset {
			t.Errorf("%s span status %v on success", s, span.Status())
		}
	}
}

// TestRequestIDNewWhenUnsafe: no request ID, or an unsafe one, gives the server a new one,
// echoed to the caller; the unsafe one is counted as a warning.
func TestRequestIDNewWhenUnsafe(t *testing.T) {
	r := startRig(t, nil, nil)
	for _, tt := range []struct {
		name, sent string
		warns      int
	}{{"none", "", 0}, {"unsafe", "bad id <with> spaces", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			before := r.warn.Total()
			ctx := context.Background()
			if tt.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", tt.sent)
			}
			var hdr metadata.MD
			if _, err := r.client.EmptyCall(ctx, &testpb.Empty{}, grpc.Header(&hdr)); err != nil {
				t.Fatal(err)
			}
			got := r.call(t)
			if !otelctx.ValidRequestID(got.requestID) || got.requestID == tt.sent {
				t.Errorf("request ID %q, want a new safe one", got.requestID)
			}
			if v := hdr.Get(propagators.HeaderRequestID); len(v) != 1 || v[0] != got.requestID {
				t.Errorf("echoed %v, want [%s]", v, got.requestID)
			}
			if n := int(r.warn.Total() - before); n != tt.warns {
				t.Errorf("%d warnings, want %d", n, tt.warns)
			}
		})
	}
}

// TestStreamsEndWithTheStream: server-, client- and bidi-streaming calls carry the context and
// their spans end only when the stream does.
func TestStreamsEndWithTheStream(t *testing.T) {
	r := startRig(t, []grpcctx.Option{grpcctx.WithMessageEvents()}, []grpcctx.Option{grpcctx.WithMessageEvents()})
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	defer parent.End()
	tid := parent.SpanContext().TraceID()

	t.Run("server", func(t *testing.T) {
		st, err := r.client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			ResponseParameters: make([]*testpb.ResponseParameters, 3)})
		if err != nil {
			t.Fatal(err)
		}
		got := r.call(t)
		n := 0
		for {
			_, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 || got.span.TraceID() != tid {
			t.Errorf("%d messages, trace %s; want 3 in %s", n, got.span.TraceID(), tid)
		}
		srv := ended(t, r.srvRec, "grpc.testing.TestService/StreamingOutputCall")
		cli := ended(t, r.cliRec, "grpc.testing.TestService/StreamingOutputCall")
		if c := countEvents(srv, "SENT"); c != 3 {
			t.Errorf("server span: %d SENT message events, want 3", c)
		}
		if c := countEvents(cli, "RECEIVED"); c != 3 {
			t.Errorf("client span: %d RECEIVED message events, want 3", c)
		}
	})
	t.Run("client", func(t *testing.T) {
		st, err := r.client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := r.call(t)
		for i := 0; i < 4; i++ {
			if err := st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("ab")}}); err != nil {
				t.Fatal(err)
			}
		}
		// The stream is open: its server span must not have ended yet.
		time.Sleep(20 * time.Millisecond)
		for _, s := range r.srvRec.Ended() {
			if s.Name() == "grpc.testing.TestService/StreamingInputCall" {
				t.Fatal("the server span ended while the stream was open")
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != 8 {
			t.Fatalf("CloseAndRecv: %v, %v", resp, err)
		}
		if got.span.TraceID() != tid {
			t.Errorf("trace %s, want %s", got.span.TraceID(), tid)
		}
		srv := ended(t, r.srvRec, "grpc.testing.TestService/StreamingInputCall")
		if c := countEvents(srv, "RECEIVED"); c != 4 {
			t.Errorf("server span: %d RECEIVED message events, want 4", c)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		st, err := r.client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := r.call(t)
		for i := 0; i < 2; i++ {
			if err := st.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("after CloseSend: %v, want EOF", err)
		}
		if got.span.TraceID() != tid || got.requestID == "" {
			t.Errorf("trace %s request %q", got.span.TraceID(), got.requestID)
		}
		srv := ended(t, r.srvRec, "grpc.testing.TestService/FullDuplexCall")
		cli := ended(t, r.cliRec, "grpc.testing.TestService/FullDuplexCall")
		if srv.Parent().SpanID() != cli.SpanContext().SpanID() {
			t.Error("bidi server span is not the client span's child")
		}
		if c := countEvents(srv, "SENT") + countEvents(srv, "RECEIVED"); c != 4 {
			t.Errorf("server span: %d message events, want 4", c)
		}
	})
}

// TestNoMessageEventsByDefault: message events are opt-in.
func TestNoMessageEventsByDefault(t *testing.T) {
	r := startRig(t, nil, nil)
	st, err := r.client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{
		ResponseParameters: make([]*testpb.ResponseParameters, 2)})
	if err != nil {
		t.Fatal(err)
	}
	r.call(t)
	for {
		if _, err := st.Recv(); err != nil {
			break
		}
	}
	srv := ended(t, r.srvRec, "grpc.testing.TestService/StreamingOutputCall")
	if n := len(srv.Events()); n != 0 {
		t.Errorf("%d events without WithMessageEvents", n)
	}
}

// countEvents counts the span's message events of one rpc.message.type.
func countEvents(s sdktrace.ReadOnlySpan, typ string) int {
	n := 0
	for _, e := range s.Events() {
		for _, kv := range e.Attributes {
			if e.Name == "message" && kv.Key == "rpc.message.type" && kv.Value.AsString() == typ {
				n++
			}
		}
	}
	return n
}
