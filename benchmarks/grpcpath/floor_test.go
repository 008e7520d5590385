package grpcpath

import (
	"context"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// The "floor" variant (issue 31, goal 5): the least a build can do that gives what ctxtrail's
// defaults give a unary call, written by hand against the SDK and grpc-go's public API with
// every shortcut ctxtrail cannot take: a client and a server span with rpc.system.name,
// rpc.method, the request ID and the status code; traceparent out and in (W3C only: no
// baggage, no tracestate, no x-header fallback, no check of bad headers, no trust boundary);
// x-request-id forwarded, taken as it comes (not validated) into the context, echoed with
// grpc.SetHeader; the span ended at stats.End. Nothing is cached but the start options of the
// one method the benchmark calls. Its overhead over the bare call, against otelgrpc's
// (floor/otelgrpc-cpu-overhead), is what the goal's ratio cannot go under with the SDK and
// grpc-go as they are.

var (
	floorProp      = propagation.TraceContext{}
	floorMethod    = "grpc.testing.TestService/UnaryCall"
	floorAttrs     = trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", floorMethod))
	floorClientOps = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), floorAttrs}
	floorServerOps = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), floorAttrs}
)

// floorHandler is the floor's stats handler, client or server.
type floorHandler struct {
	tracer trace.Tracer
	client bool
}

// floorCarrier collects what the propagator injects as metadata pairs.
type floorCarrier []string

func (c *floorCarrier) Get(string) string { return "" }
func (c *floorCarrier) Set(k, v string)   { *c = append(*c, k, v) }
func (c *floorCarrier) Keys() []string    { return nil }

// floorIn hands the propagator the one header it reads that the floor sends.
type floorIn struct{ traceparent string }

func (c *floorIn) Get(k string) string {
	if k == "traceparent" {
		return c.traceparent
	}
	return ""
}
func (c *floorIn) Set(string, string) {}
func (c *floorIn) Keys() []string     { return nil }

// floorOK is rpc.response.status_code for OK, made once as ctxtrail makes it.
var floorOK = []attribute.KeyValue{attribute.String("rpc.response.status_code", "OK")}

func (h floorHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	if h.client {
		ctx, span := h.tracer.Start(ctx, floorMethod, floorClientOps...)
		id := otelctx.RequestID(ctx)
		if id != "" {
			span.SetAttributes(attribute.String("request_id", id))
		}
		kv := make(floorCarrier, 0, 4)
		floorProp.Inject(ctx, &kv)
		if id != "" {
			kv = append(kv, "x-request-id", id)
		}
		return metadata.AppendToOutgoingContext(ctx, kv...)
	}
	// The cheapest public way to read incoming metadata: a copy of each key's values.
	in := &floorIn{}
	if tp := metadata.ValueFromIncomingContext(ctx, "traceparent"); len(tp) > 0 {
		in.traceparent = tp[0]
	}
	ctx = floorProp.Extract(ctx, in)
	id := otelctx.NewRequestID()
	if ids := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(ids) > 0 {
		id = ids[0]
	}
	ctx = otelctx.WithRequestID(ctx, id)
	ctx, span := h.tracer.Start(ctx, floorMethod, floorServerOps...)
	span.SetAttributes(attribute.String("request_id", id))
	return ctx
}

func (h floorHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if e, ok := rs.(*stats.End); ok {
		span := trace.SpanFromContext(ctx)
		if e.Error == nil {
			span.SetAttributes(floorOK...)
		} else {
			span.SetAttributes(attribute.String("rpc.response.status_code", status.Code(e.Error).String()))
			span.SetStatus(codes.Error, e.Error.Error())
		}
		span.End()
	}
}

func (floorHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (floorHandler) HandleConn(context.Context, stats.ConnStats)                       {}

// floorEcho echoes the request ID the floor's server handler put in the context.
func floorEcho(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if id := otelctx.RequestID(ctx); id != "" {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
	}
	return handler(ctx, req)
}
