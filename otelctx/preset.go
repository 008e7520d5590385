package otelctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel/attribute"
)

// FieldPreset is a request-store addition built once and added to many contexts: what a server
// instrumentation adds for every request to the same method (the gRPC package's rpc.* fields).
// AddTo(ctx) is AddFields(ctx, kvs...), but when ctx holds no request store yet, as a server's
// incoming context does not, the preset itself becomes the store: one context entry per request
// instead of a new store and an entry. The preset is immutable, so sharing it between requests
// is safe: a later AddFields copies it, as it copies any store.
//
// The zero FieldPreset adds nothing.
type FieldPreset struct{ set *reqstore.Set }

// NewFieldPreset returns a preset holding kvs as AddFields would add them to an empty store:
// invalid keys dropped, a later value for a key replacing an earlier one.
func NewFieldPreset(kvs ...attribute.KeyValue) FieldPreset {
	if len(kvs) == 0 {
		return FieldPreset{}
	}
	return FieldPreset{set: reqstore.FieldsOf(reqstore.Add(context.Background(), nil, kvs))}
}

// AddTo returns a copy of ctx whose request store holds the preset's fields on top of what
// ctx's store already holds, exactly as AddFields does.
func (p FieldPreset) AddTo(ctx context.Context) context.Context {
	if p.set == nil {
		return ctx
	}
	if reqstore.FieldsOf(ctx) == nil {
		return reqstore.WithFields(ctx, p.set)
	}
	return reqstore.Add(ctx, nil, p.set.KVs)
}
