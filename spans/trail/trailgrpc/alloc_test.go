package trailgrpc_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailgrpc"
	"google.golang.org/grpc"
)

// TestAllocUnaryServerInterceptor: the interceptor's share of an RPC that does not panic is
// what trail.Start costs: the trail's configuration, the trail and the context node.
func TestAllocUnaryServerInterceptor(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	intercept := trailgrpc.UnaryServerInterceptor(trail.WithSink(trail.NewMemorySink(1)))
	info := &grpc.UnaryServerInfo{FullMethod: "/shop.Payments/Charge"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	ctx := context.Background()
	if n := testing.AllocsPerRun(200, func() { _, _ = intercept(ctx, nil, info, handler) }); n > 3 {
		t.Errorf("UnaryServerInterceptor allocates %v times an RPC, want at most 3", n)
	}
}
