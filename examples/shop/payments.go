package shop

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

var errDeclined = errors.New("card declined")

// The payments service speaks gRPC: one unary method, shop.Payments/Charge, whose messages
// are protobuf's well-known google.protobuf.Struct ({"card": "4242", "cents": 1500} in,
// {"charge_id": "ch_…"} out). A hand-written grpc.ServiceDesc over an existing message type
// needs no protoc step, and the trace shows a real service and method name.
const chargeMethod = "/shop.Payments/Charge"

// paymentsDesc registers Service.charge as shop.Payments/Charge.
var paymentsDesc = grpc.ServiceDesc{
	ServiceName: "shop.Payments",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Charge",
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(structpb.Struct)
			if err := dec(in); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				return srv.(*Service).charge(ctx, req.(*structpb.Struct))
			}
			if icpt == nil {
				return call(ctx, in)
			}
			return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: chargeMethod}, call)
		},
	}},
	Metadata: "examples/shop/payments.go",
}

// newPaymentsServer is the payments gRPC server: ctxtrail's stats handler, ID echo and 64 KiB
// bound on a call's metadata (grpcctx.DefaultMaxHeaderListSize, the HTTP services'
// MaxHeaderBytes; grpc-go's own is 16 MiB), then trail's recovery, which turns a panic into a
// report and codes.Internal.
func (s *Service) newPaymentsServer() *grpc.Server {
	opts := append(grpcctx.ServerOptions(grpcctx.WithProvider(s.tel.Provider)),
		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(trail.WithSink(s.tel.ReportSink()))))
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&paymentsDesc, s)
	return srv
}

// SlowIssuerDelay is how long card "slow" takes to authorize: a request that succeeds late,
// which the in-process capture keeps (ctxtrail.WithKeepErrorsAndSlow, CTXTRAIL_KEEP_SLOW).
const SlowIssuerDelay = 120 * time.Millisecond

// charge: shop.Payments/Charge. Card 0000 is declined (FailedPrecondition); card "panic"
// panics, to show the recovery interceptor answering Internal and the server carrying on;
// card "slow" is authorized after SlowIssuerDelay.
func (s *Service) charge(ctx context.Context, in *structpb.Struct) (*structpb.Struct, error) {
	req := ChargeRequest{Card: in.GetFields()["card"].GetStringValue(), Cents: int64(in.GetFields()["cents"].GetNumberValue())}
	log := s.tel.Log.Ctx(ctx)

	err := spans.Run(ctx, "fraud check", func(ctx context.Context) error {
		time.Sleep(time.Millisecond) // a stand-in for a scoring call
		if req.Cents <= 0 {
			return fmt.Errorf("amount %d cents", req.Cents)
		}
		return nil
	})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	id, err := spans.RunValue(ctx, "authorize card", func(ctx context.Context) (string, error) {
		switch req.Card {
		case "0000":
			return "", errDeclined
		case "panic":
			panic("payments: card processor returned garbage")
		case "slow":
			time.Sleep(SlowIssuerDelay) // an issuer that answers late, for the capture's slow case
		}
		return "ch_" + otelctx.RequestID(ctx), nil
	})
	if err != nil {
		log.Warn("charge declined", zap.Int64("cents", req.Cents), zap.Error(err))
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	log.Info("charged", zap.Int64("cents", req.Cents), zap.String("charge_id", id))
	return &structpb.Struct{Fields: map[string]*structpb.Value{"charge_id": structpb.NewStringValue(id)}}, nil
}

// chargeCard calls payments over gRPC (orders' side). A refusal comes back as an *httpError
// with the status the caller should see: declined 402, a bad amount 400, anything else 502.
func (s *Service) chargeCard(ctx context.Context, req ChargeRequest) (ChargeResponse, error) {
	in := &structpb.Struct{Fields: map[string]*structpb.Value{
		"card":  structpb.NewStringValue(req.Card),
		"cents": structpb.NewNumberValue(float64(req.Cents)),
	}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := new(structpb.Struct)
	if err := s.payments.Invoke(ctx, chargeMethod, in, out); err != nil {
		st := status.Convert(err)
		switch st.Code() {
		case codes.FailedPrecondition:
			return ChargeResponse{}, &httpError{status: 402, msg: st.Message()}
		case codes.InvalidArgument:
			return ChargeResponse{}, &httpError{status: 400, msg: st.Message()}
		}
		return ChargeResponse{}, &httpError{status: 502, msg: st.Code().String() + ": " + st.Message()}
	}
	return ChargeResponse{ChargeID: out.GetFields()["charge_id"].GetStringValue()}, nil
}
