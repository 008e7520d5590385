package grpcctx_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// durationPoint waits until reader holds the data point of histogram name (one RPC recorded)
// and returns it.
func durationPoint(t *testing.T, reader *sdkmetric.ManualReader, name string) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	// Each side records right after it ends its span, on its own goroutine: poll.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				if dps := m.Data.(metricdata.Histogram[float64]).DataPoints; len(dps) == 1 && dps[0].Count == 1 {
					return dps[0]
				}
			}
		}
	}
	t.Fatalf("%s: no data point with one RPC", name)
	return metricdata.HistogramDataPoint[float64]{}
}

// durationRig is a rig whose server and client record durations to manual readers, and whose
// handlers sleep 50 ms.
func durationRig(t *testing.T) (r *rig, srvReader, cliReader *sdkmetric.ManualReader) {
	srvReader, cliReader = sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	srvMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(srvReader))
	cliMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(cliReader))
	t.Cleanup(func() {
		_ = srvMP.Shutdown(context.Background())
		_ = cliMP.Shutdown(context.Background())
	})
	r = startRig(t, []grpcctx.Option{grpcctx.WithMeterProvider(srvMP)}, []grpcctx.Option{grpcctx.WithMeterProvider(cliMP)})
	r.svc.hook = func(context.Context) { time.Sleep(50 * time.Millisecond) }
	return r, srvReader, cliReader
}

// TestRPCDurationInSeconds: a call whose handler sleeps 50 ms is recorded as about 0.05 on
// both sides, the unit the histograms declare ("s") and their buckets assume: not 50
// (milliseconds) nor 5e7 (nanoseconds). Only a generous range is checked, never a timing.
func TestRPCDurationInSeconds(t *testing.T) {
	r, srvReader, cliReader := durationRig(t)
	if _, err := r.client.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	r.call(t)
	for _, tt := range []struct {
		reader *sdkmetric.ManualReader
		name   string
	}{{srvReader, "rpc.server.call.duration"}, {cliReader, "rpc.client.call.duration"}} {
		dp := durationPoint(t, tt.reader, tt.name)
		if dp.Sum < 0.04 || dp.Sum >= 30 {
			t.Errorf("%s = %v for a handler that sleeps 50 ms: want seconds, in [0.04, 30)", tt.name, dp.Sum)
		}
	}
}

// TestRPCDurationExemplars: the exemplars of each side's duration name the span of that side
// (the client span for rpc.client.call.duration, not the caller's span it is a child of; the
// server span for rpc.server.call.duration), so a histogram bucket leads to the RPC's own span.
func TestRPCDurationExemplars(t *testing.T) {
	r, srvReader, cliReader := durationRig(t)
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	if _, err := r.client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	r.call(t)
	const method = "grpc.testing.TestService/EmptyCall"
	cli := ended(t, r.cliRec, method).SpanContext()
	srv := ended(t, r.srvRec, method).SpanContext()
	if cli.SpanID() == parent.SpanContext().SpanID() {
		t.Fatal("the client span is the caller's span")
	}
	for _, tt := range []struct {
		reader *sdkmetric.ManualReader
		name   string
		want   trace.SpanContext
	}{{cliReader, "rpc.client.call.duration", cli}, {srvReader, "rpc.server.call.duration", srv}} {
		dp := durationPoint(t, tt.reader, tt.name)
		if len(dp.Exemplars) != 1 {
			t.Errorf("%s: %d exemplars, want 1", tt.name, len(dp.Exemplars))
			continue
		}
		ex := dp.Exemplars[0]
		tid, sid := tt.want.TraceID(), tt.want.SpanID()
		if !bytes.Equal(ex.TraceID, tid[:]) || !bytes.Equal(ex.SpanID, sid[:]) {
			ps := parent.SpanContext().SpanID()
			t.Errorf("%s exemplar names trace %x span %x, want %s span %s (the caller's span is %s, parent-of-client? %v)",
				tt.name, ex.TraceID, ex.SpanID, tid, sid, ps, bytes.Equal(ex.SpanID, ps[:]))
		}
	}
}
