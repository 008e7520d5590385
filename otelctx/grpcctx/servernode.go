package grpcctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
)

// serverRPC is the parent context of a server span, in one allocation: it answers the request
// ID, the request store's first version and what HandleRPC needs of the RPC (rpcKey) from its
// own fields, and passes every other key to the incoming context it wraps (the remote parent
// among them). Each of the three would otherwise be a context entry of its own. Every field is
// written before the span starts and never after, so processors that keep the parent context
// may read it from any goroutine.
type serverRPC struct {
	context.Context
	id     string
	fields *reqstore.Set // the method's shared set, or own when the store had a version already
	own    reqstore.Set
	rpc    rpcState // answered for rpcKey: with message events the state, with metrics the method
	rpcFor int      // the handler's rpcFor
	// attrs backs the span attributes TagRPC sets after the start ones (the caller's request ID
	// at a trust boundary, then the request ID): SetAttributes' variadic slice would otherwise
	// be an allocation of its own. Written here once, never reused for another RPC.
	attrs [2]attribute.KeyValue
}

// newServerRPC returns the node for an RPC to m whose request ID is id; caller, when valid, is
// the caller's request ID a trust boundary replaced, for the store.
func (h *rpcHandler) newServerRPC(in context.Context, m *method, id string, caller attribute.KeyValue) *serverRPC {
	n := &serverRPC{Context: in, id: id, fields: m.set}
	n.attrs[0], n.attrs[1] = caller, attribute.String(otelctx.AttrRequestID, id)
	if old := reqstore.FieldsOf(in); old != nil || caller.Valid() {
		kvs := [...]attribute.KeyValue{caller, m.rpc} // an empty caller is skipped
		n.own.Fill(old, nil, kvs[:])
		n.fields = &n.own
	}
	n.rpc.m, n.rpcFor = m, h.rpcFor
	return n
}

// spanAttrs returns the attributes TagRPC sets on the started span: the caller's request ID,
// when a trust boundary replaced it, then the request ID.
func (n *serverRPC) spanAttrs() []attribute.KeyValue {
	if n.attrs[0].Valid() {
		return n.attrs[:]
	}
	return n.attrs[1:]
}

// Value answers the request ID, the store and rpcKey itself and asks the wrapped context for
// anything else.
func (n *serverRPC) Value(key any) any {
	switch key {
	case reqstore.RequestIDKey:
		return &n.id
	case reqstore.FieldsKey:
		return n.fields
	case rpcKey{}:
		switch n.rpcFor {
		case rpcEvents:
			return &n.rpc
		case rpcMethod:
			return n.rpc.m
		}
	}
	return n.Context.Value(key)
}

// String describes the node for debugging, as context.WithValue's contexts do.
func (n *serverRPC) String() string { return "grpcctx.NewServerHandler(request " + n.id + ")" }
