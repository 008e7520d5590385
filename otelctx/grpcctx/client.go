package grpcctx

import (
	"context"
	"strings"
	"sync"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// NewClientHandler returns a grpc stats.Handler for clients (install it with
// grpc.WithStatsHandler) that does for each RPC what httpctx.NewTransport does for an HTTP
// request: it starts a client span named "package.Service/Method" with rpc.system.name,
// rpc.method and otelctx.AttrRequestID (the context's request ID, when
// otelctx.ValidRequestID accepts it), and writes the trace context and baggage into the
// outgoing metadata through the propagator, and x-request-id from the context when the
// propagator did not. With propagators.New (WithProvider's default, and the global one Install
// sets, for a handler made after Install) it writes the same metadata in one pass of its own,
// without calling the propagator's Inject. x-trace-id and x-span-id are left off the gRPC wire
// unless WithXTraceHeaders is given (the callee reads traceparent). Headers of the same names already
// in the outgoing metadata (say, incoming metadata forwarded whole) are replaced, never
// duplicated, since two traceparents would make the next service start a fresh trace; without
// WithXTraceHeaders a forwarded x-trace-id or x-span-id, which would name another span, is
// removed.
//
// The span ends when the RPC ends, with rpc.response.status_code; every code but OK marks it as an
// error, as the RPC conventions ask of a client. A streaming RPC ends when the client has read
// the final status (RecvMsg returned an error, io.EOF included) or its context is done: as
// with any gRPC client stream, one left neither read to the end nor cancelled keeps its span
// open.
func NewClientHandler(opts ...Option) stats.Handler {
	c := newConfig(opts)
	return &clientHandler{newRPCHandler(c, trace.SpanKindClient)}
}

type clientHandler struct{ rpcHandler }

var _ stats.Handler = (*clientHandler)(nil)

// TagRPC starts the client span and injects the outgoing metadata.
func (h *clientHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	m := h.methods.get(info.FullMethodName)
	ctx, span := h.tracer.Start(ctx, m.name, m.opts...)
	id := otelctx.RequestID(ctx)
	validID := otelctx.ValidRequestID(id)
	if validID {
		// After the start attributes, so the span's attribute slice grows once, with room
		// for rpc.response.status_code at the end.
		span.SetAttributes(attribute.String(otelctx.AttrRequestID, id))
	}

	if h.cfg.fused {
		// propagators.New's headers, written without the composite's three passes (inject.go).
		var kv [2 * maxFusedPairs]string
		n := fusedPairs(&kv, ctx, id, validID, h.cfg.xTrace)
		return h.withRPC(appendOutgoing(ctx, kv[:n], !h.cfg.xTrace), m)
	}
	out := pairsPool.Get().(*pairs)
	out.dropXTrace = !h.cfg.xTrace
	h.cfg.prop.Inject(ctx, out)
	if validID && out.get(propagators.HeaderRequestID) == "" {
		out.Set(propagators.HeaderRequestID, id)
	}
	ctx = appendOutgoing(ctx, out.kv, !h.cfg.xTrace)
	out.release()
	return h.withRPC(ctx, m)
}

// appendOutgoing adds kv to the outgoing metadata of ctx. Without outgoing metadata (the
// common case) the pairs are appended, which copies nothing but kv; with some, it is copied
// (grpc offers no other way to read it), the keys replaced and, when dropXTrace, x-trace-id and
// x-span-id removed.
func appendOutgoing(ctx context.Context, kv []string, dropXTrace bool) context.Context {
	md, ok := metadata.FromOutgoingContext(ctx)
	switch {
	case !ok && len(kv) == 0, ok && len(kv) == 0 && !dropXTrace:
		return ctx
	case !ok:
		return metadata.AppendToOutgoingContext(ctx, kv...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = []string{kv[i+1]}
	}
	if dropXTrace {
		delete(md, propagators.HeaderTraceID)
		delete(md, propagators.HeaderSpanID)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// pairs collects what a propagator injects as metadata key/value pairs, keys lowercased. Get
// returns what was Set, so propagators.XTrace slices x-trace-id and x-span-id out of the
// traceparent instead of encoding them again. With dropXTrace, Set ignores x-trace-id and
// x-span-id. A client handler takes one from pairsPool per RPC: the propagator's Inject takes
// an interface, so a pairs on the stack would escape, and the metadata copies the strings out
// before it goes back.
type pairs struct {
	kv         []string
	small      [14]string // seven pairs without growing: every header ctxtrail propagates
	dropXTrace bool
}

var pairsPool = sync.Pool{New: func() any { return new(pairs) }}

// release clears p (no string stays reachable from the pool) and returns it to pairsPool.
func (p *pairs) release() {
	if len(p.kv) > len(p.small) {
		return // grown by an unusual propagator: let the collector have it
	}
	clear(p.small[:])
	p.kv = nil
	pairsPool.Put(p)
}

var _ propagation.TextMapCarrier = (*pairs)(nil)

func (p *pairs) get(key string) string {
	for i := 0; i+1 < len(p.kv); i += 2 {
		if p.kv[i] == key {
			return p.kv[i+1]
		}
	}
	return ""
}

// Get returns the value set for key.
func (p *pairs) Get(key string) string { return p.get(strings.ToLower(key)) }

// Set sets key to value, replacing an earlier value.
func (p *pairs) Set(key, value string) {
	key = strings.ToLower(key)
	if p.dropXTrace && (key == propagators.HeaderTraceID || key == propagators.HeaderSpanID) {
		return
	}
	if p.kv == nil {
		p.kv = p.small[:0]
	}
	for i := 0; i+1 < len(p.kv); i += 2 {
		if p.kv[i] == key {
			p.kv[i+1] = value
			return
		}
	}
	p.kv = append(p.kv, key, value)
}

// Keys lists the keys set.
func (p *pairs) Keys() []string {
	keys := make([]string, 0, len(p.kv)/2)
	for i := 0; i < len(p.kv); i += 2 {
		keys = append(keys, p.kv[i])
	}
	return keys
}
