package grpcctx

import (
	"context"
	"strings"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// NewClientHandler returns a grpc stats.Handler for clients (install it with
// grpc.WithStatsHandler) that does for each RPC what otelctx.NewTransport does for an HTTP
// request: it starts a client span named "package.Service/Method" with rpc.system,
// rpc.service and rpc.method, and writes the trace context, baggage and x-headers into the
// outgoing metadata through the propagator, adding x-request-id from the context when the
// propagator did not. Headers of the same names already in the outgoing metadata (say,
// incoming metadata forwarded whole) are replaced, never duplicated, since two traceparents
// would make the next service start a fresh trace.
//
// The span ends when the RPC ends, with rpc.grpc.status_code; every code but OK marks it as an
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
	ctx, _ = h.tracer.Start(ctx, m.name, m.opts...)
	ctx = h.withMethod(ctx, m)

	var out pairs
	h.cfg.prop.Inject(ctx, &out)
	if out.get(otelctx.HeaderRequestID) == "" {
		if id := otelctx.RequestID(ctx); otelctx.ValidRequestID(id) {
			out.Set(otelctx.HeaderRequestID, id)
		}
	}
	if len(out.kv) > 0 {
		ctx = appendOutgoing(ctx, out.kv)
	}
	if h.cfg.messageEvents {
		ctx = context.WithValue(ctx, messagesKey{}, new(messages))
	}
	return ctx
}

// appendOutgoing adds kv to the outgoing metadata of ctx. Without outgoing metadata (the
// common case) the pairs are appended, which copies nothing; with some, it is copied (grpc
// offers no other way to read it) and the keys replaced.
func appendOutgoing(ctx context.Context, kv []string) context.Context {
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		return metadata.AppendToOutgoingContext(ctx, kv...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = []string{kv[i+1]}
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// pairs collects what a propagator injects as metadata key/value pairs, keys lowercased. Get
// returns what was Set, so otelctx.XTrace slices x-trace-id and x-span-id out of the
// traceparent instead of encoding them again.
type pairs struct {
	kv    []string
	small [14]string // seven pairs without growing: every header ctxtrail propagates
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
