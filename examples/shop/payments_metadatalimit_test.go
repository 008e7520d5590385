package shop

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestPaymentsRefuseMetadataFlood: the payments service, built as its binary builds it
// (NewTelemetry, NewService, NewServer), bounds a call's metadata at 64 KiB as the HTTP services
// bound their headers: a call with 1 MiB of metadata is refused (codes.Internal: grpc-go's
// client will not send past the bound the server advertises), and ordinary charges pass before
// and after it.
func TestPaymentsRefuseMetadataFlood(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tel, err := NewTelemetry(ctx, Payments, io.Discard, ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ctx, Config{Service: Payments, Addr: ln.Addr().String()}, tel)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer svc.Close()
	srv := svc.NewServer()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-served
	}()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	charge := func(ctx context.Context) error {
		in := &structpb.Struct{Fields: map[string]*structpb.Value{
			"card": structpb.NewStringValue("4242"), "cents": structpb.NewNumberValue(1500)}}
		return conn.Invoke(ctx, chargeMethod, in, new(structpb.Struct))
	}

	if err := charge(ctx); err != nil {
		t.Fatalf("an ordinary charge: %v", err)
	}
	flood := metadata.MD{}
	for i := range 64 { // 64 fields of 16 KiB
		flood.Append(fmt.Sprintf("x-flood-%d", i), strings.Repeat("a", 16<<10))
	}
	if err := charge(metadata.NewOutgoingContext(ctx, flood)); status.Code(err) != codes.Internal {
		t.Errorf("a charge with 1 MiB of metadata: %v (code %v), want it refused with Internal", err, status.Code(err))
	}
	if err := charge(ctx); err != nil {
		t.Fatalf("an ordinary charge after the flood: %v", err)
	}
}

// TestOrdersRefuseMetadataFloodFromPayments: orders' connection to payments, built as its
// binary builds it, bounds the answer's metadata too: a payments that answers a charge with 1
// MiB of header metadata fails the charge (502) instead of making orders hold it, and an
// ordinary answer passes.
func TestOrdersRefuseMetadataFloodFromPayments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A payments stand-in without any bound, whose answer carries 1 MiB of header metadata when
	// the card is "flood".
	fake := grpc.NewServer()
	fake.RegisterService(&grpc.ServiceDesc{
		ServiceName: "shop.Payments",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Charge",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				in := new(structpb.Struct)
				if err := dec(in); err != nil {
					return nil, err
				}
				if in.GetFields()["card"].GetStringValue() == "flood" {
					md := metadata.MD{}
					for i := range 64 {
						md.Append(fmt.Sprintf("x-flood-%d", i), strings.Repeat("a", 16<<10))
					}
					if err := grpc.SetHeader(ctx, md); err != nil {
						return nil, err
					}
				}
				return &structpb.Struct{Fields: map[string]*structpb.Value{"charge_id": structpb.NewStringValue("ch_1")}}, nil
			},
		}},
	}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = fake.Serve(ln)
	}()
	defer func() {
		fake.Stop()
		<-served
	}()

	tel, err := NewTelemetry(ctx, Orders, io.Discard, ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	svc, err := NewService(ctx, Config{Service: Orders, Addr: "127.0.0.1:0", PaymentsURL: "grpc://" + ln.Addr().String()}, tel)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	if got, err := svc.chargeCard(ctx, ChargeRequest{Card: "4242", Cents: 1500}); err != nil || got.ChargeID != "ch_1" {
		t.Fatalf("an ordinary charge: %+v, %v", got, err)
	}
	_, err = svc.chargeCard(ctx, ChargeRequest{Card: "flood", Cents: 1500})
	if err == nil || statusOf(err) != 502 {
		t.Errorf("a charge answered with 1 MiB of metadata: %v (status %d), want it failed (502)", err, statusOf(err))
	}
	if _, err := svc.chargeCard(ctx, ChargeRequest{Card: "4242", Cents: 1500}); err != nil {
		t.Fatalf("an ordinary charge after the flood: %v", err)
	}
}
