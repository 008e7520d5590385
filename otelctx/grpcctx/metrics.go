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

// This file records the duration of each RPC, as the RPC semantic conventions of semconv
// v1.43.0 (the spans' version) describe it: rpc.server.call.duration and
// rpc.client.call.duration, histograms in seconds, with rpc.system.name, rpc.method and
// rpc.response.status_code. The measurement options are built once per method and status code,
// so recording allocates nothing; a no-op meter provider skips the work.

// durationBuckets are the bucket boundaries, in seconds, of the HTTP conventions' duration
// buckets (5 ms to 10 s), as otelgrpc uses them.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// WithMeterProvider sets the meter provider the RPC duration is recorded with. By default the
// global one, which follows a later ctxtrail.Install; WithProvider sets the Provider's.
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
	name, desc := "rpc.client.call.duration", "Measures the duration of an outgoing Remote Procedure Call (RPC)."
	if server {
		name, desc = "rpc.server.call.duration", "Measures the duration of an incoming Remote Procedure Call (RPC)."
	}
	// Errors only ever come with a usable (no-op) instrument; the SDK reports them itself.
	h, _ := mp.Meter(ScopeName).Float64Histogram(name, metric.WithUnit("s"),
		metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(durationBuckets...))
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
	h.duration.Record(ctx, e.EndTime.Sub(e.BeginTime).Seconds(), m.recordOptions(code)...)
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
	set := attribute.NewSet(systemGRPC, m.rpc, statusAttr(code))
	return []metric.RecordOption{metric.WithAttributeSet(set)}
}

// recOptions holds a method's measurement options per status code.
type recOptions = [17]atomic.Pointer[[]metric.RecordOption]
