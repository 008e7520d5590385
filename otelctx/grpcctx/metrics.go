package grpcctx

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
)

// This file records the duration of each RPC, as the RPC semantic conventions whose attribute
// names the spans use describe it: rpc.server.duration and rpc.client.duration, histograms in
// milliseconds, with rpc.system, rpc.service, rpc.method and rpc.grpc.status_code. The
// measurement options are built once per method and status code, so recording allocates
// nothing; a no-op meter provider skips the work.

// durationBucketsMS are the bucket boundaries, in milliseconds, of the HTTP conventions'
// duration buckets (5 ms to 10 s).
var durationBucketsMS = []float64{5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

// WithMeterProvider sets the meter provider the RPC duration is recorded with. By default the
// global one, which follows a later otelctx.Install; WithProvider sets the Provider's.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c config) config { c.mp = mp; return c })
}

// newDuration returns the duration histogram for the handler's side, or nil when mp is a no-op
// provider.
func newDuration(mp metric.MeterProvider, server bool) metric.Float64Histogram {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if _, off := mp.(noop.MeterProvider); off {
		return nil
	}
	name, desc := "rpc.client.duration", "Duration of outbound RPCs."
	if server {
		name, desc = "rpc.server.duration", "Duration of inbound RPCs."
	}
	// Errors only ever come with a usable (no-op) instrument; the SDK reports them itself.
	h, _ := mp.Meter(ScopeName).Float64Histogram(name, metric.WithUnit("ms"),
		metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(durationBucketsMS...))
	return h
}

// recordDuration records the finished RPC's duration.
func (h *rpcHandler) recordDuration(ctx context.Context, e *stats.End, code codes.Code) {
	if h.duration == nil {
		return
	}
	m, _ := rpcOf(ctx)
	if m == nil {
		return
	}
	ms := float64(e.EndTime.Sub(e.BeginTime)) / 1e6
	h.duration.Record(ctx, ms, m.recordOptions(code)...)
}

// recordOptions returns the measurement options for code, built on first use.
func (m *method) recordOptions(code codes.Code) []metric.RecordOption {
	if int(code) >= len(m.rec) {
		return m.buildOptions(code)
	}
	if o := m.rec[code].Load(); o != nil {
		return *o
	}
	o := m.buildOptions(code)
	m.rec[code].Store(&o)
	return o
}

func (m *method) buildOptions(code codes.Code) []metric.RecordOption {
	set := attribute.NewSet(systemGRPC, m.fields[0], m.fields[1], RPCGRPCStatusCodeKey.Int64(int64(code)))
	return []metric.RecordOption{metric.WithAttributeSet(set)}
}

// recOptions holds a method's measurement options per status code.
type recOptions = [17]atomic.Pointer[[]metric.RecordOption]
