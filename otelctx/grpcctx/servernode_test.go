package grpcctx_test

import (
	"context"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// TestServerContextKeepsOuterStore: the server span's context answers the request ID and the
// request store from one node (issue 31); a store an outer layer put in the incoming context is
// kept under rpc.method, and at a trust boundary the caller's request ID joins it.
func TestServerContextKeepsOuterStore(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	info := &stats.RPCTagInfo{FullMethodName: "/shop.Cart/Get"}
	md := metadata.MD{"x-request-id": {"req-outer"}}
	tests := []struct {
		name   string
		opts   []grpcctx.Option
		outer  bool
		wantID string // "" for a new one
		want   map[attribute.Key]string
	}{
		{"nothing before", nil, false, "req-outer", map[attribute.Key]string{"rpc.method": "shop.Cart/Get"}},
		{"an outer store", nil, true, "req-outer", map[attribute.Key]string{"tenant": "t-1", "rpc.method": "shop.Cart/Get"}},
		{"a trust boundary", []grpcctx.Option{grpcctx.WithTrustBoundary()}, true, "",
			map[attribute.Key]string{"tenant": "t-1", "rpc.method": "shop.Cart/Get", otelctx.AttrCallerRequestID: "req-outer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := metadata.NewIncomingContext(context.Background(), md)
			if tt.outer {
				in = otelctx.AddFields(in, attribute.String("tenant", "t-1"))
			}
			h := grpcctx.NewServerHandler(append(tt.opts, grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()))...)
			ctx := h.TagRPC(in, info)
			defer h.HandleRPC(ctx, &stats.End{})
			id := otelctx.RequestID(ctx)
			if (tt.wantID != "" && id != tt.wantID) || (tt.wantID == "" && (id == "req-outer" || !otelctx.ValidRequestID(id))) {
				t.Errorf("request ID %q, want %q (\"\" for a new one)", id, tt.wantID)
			}
			f := otelctx.FieldsFrom(ctx)
			if f.Len() != len(tt.want) {
				t.Errorf("store %v, want %v", f.Slice(), tt.want)
			}
			for k, v := range tt.want {
				if got, ok := f.Get(k); !ok || got.AsString() != v {
					t.Errorf("store %s = %q, want %q", k, got.AsString(), v)
				}
			}
		})
	}
}
