package grpcctx_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// TestRPCDurationMetrics: each side records one duration per RPC, in seconds, with the RPC's
// attributes and status code (semconv v1.43.0's rpc.server.call.duration and
// rpc.client.call.duration).
func TestRPCDurationMetrics(t *testing.T) {
	srvReader, cliReader := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	srvMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(srvReader))
	cliMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(cliReader))
	defer srvMP.Shutdown(context.Background())
	defer cliMP.Shutdown(context.Background())
	r := startRig(t, []grpcctx.Option{grpcctx.WithMeterProvider(srvMP)}, []grpcctx.Option{grpcctx.WithMeterProvider(cliMP)})
	if _, err := r.client.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	r.call(t)
	_, _ = r.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
	r.call(t)

	// Each side records right after it ends its span, on its own goroutine: poll.
	for _, tt := range []struct {
		reader *sdkmetric.ManualReader
		name   string
	}{{srvReader, "rpc.server.call.duration"}, {cliReader, "rpc.client.call.duration"}} {
		const empty, notFound = "grpc.testing.TestService/EmptyCall/OK", "grpc.testing.TestService/UnaryCall/NOT_FOUND"
		want := map[string]uint64{empty: 1, notFound: 1}
		var got map[string]uint64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			got = collectDurations(t, tt.reader, tt.name)
			if got[empty] == 1 && got[notFound] == 1 {
				break
			}
		}
		if len(got) != len(want) || got[empty] != 1 || got[notFound] != 1 {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
	}
}

// collectDurations returns the data-point counts of the histogram name by method/status code.
func collectDurations(t *testing.T, reader *sdkmetric.ManualReader, name string) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if m.Unit != "s" {
				t.Errorf("%s unit %q, want s", m.Name, m.Unit)
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				meth, _ := dp.Attributes.Value("rpc.method")
				c, _ := dp.Attributes.Value("rpc.response.status_code")
				if s, _ := dp.Attributes.Value("rpc.system.name"); s.AsString() != "grpc" {
					t.Errorf("%s: rpc.system.name %q", name, s.AsString())
				}
				got[meth.AsString()+"/"+c.Emit()] += dp.Count
			}
		}
	}
	return got
}

// TestAllocRPCMetrics: recording the duration costs the server handler at most one allocation
// (remembering the method in the context); a no-op meter provider costs none.
func TestAllocRPCMetrics(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{"traceparent": {goodParent}})
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/EmptyCall"}
	measure := func(opts ...grpcctx.Option) float64 {
		h := grpcctx.NewServerHandler(append(opts, grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()))...)
		return testing.AllocsPerRun(200, func() {
			c := h.TagRPC(ctx, info)
			h.HandleRPC(c, &stats.End{})
		})
	}
	off := measure(grpcctx.WithMeterProvider(noop.NewMeterProvider()))
	on := measure(grpcctx.WithMeterProvider(mp))
	t.Logf("allocations per RPC: metrics off %.0f, on %.0f", off, on)
	if on > off+1 {
		t.Errorf("metrics cost %.0f allocations per RPC, want at most 1", on-off)
	}
}
