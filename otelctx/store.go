package otelctx

import (
	"context"
	"iter"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel/attribute"
)

// MaxFields is how many distinct keys the request store holds. Past it, new keys are dropped
// (and counted by Fields.Dropped); existing keys can still be given new values.
const MaxFields = reqstore.MaxFields

// AddFields returns a copy of ctx whose request store holds kvs on top of what ctx's store
// already holds, as Node code adds to the store AsyncLocalStorage keeps for a request. A later
// value for the same key replaces the earlier one. The additions are seen down the call chain
// (by every context derived from the result) and never by ctx itself, its parents or its
// siblings.
//
// zapbridge writes these fields on every log line of the call chain, and the spans package can
// copy them onto spans. Invalid keys (empty) are ignored.
func AddFields(ctx context.Context, kvs ...attribute.KeyValue) context.Context {
	if len(kvs) == 0 {
		return ctx
	}
	return reqstore.Add(ctx, nil, kvs)
}

// Fields is a read-only view of a context's request store. The zero Fields is empty.
type Fields struct{ set *reqstore.Set }

// FieldsFrom returns the request store of ctx.
func FieldsFrom(ctx context.Context) Fields {
	return Fields{set: reqstore.FieldsOf(ctx)}
}

// Len returns how many fields the store holds.
func (f Fields) Len() int {
	if f.set == nil {
		return 0
	}
	return len(f.set.KVs)
}

// At returns the i-th field, in the order keys were first added. It panics if i is out of
// range, like a slice index.
func (f Fields) At(i int) attribute.KeyValue { return f.set.KVs[i] }

// Get returns the value held for key.
func (f Fields) Get(key attribute.Key) (attribute.Value, bool) {
	if f.set == nil {
		return attribute.Value{}, false
	}
	for _, kv := range f.set.KVs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// All iterates over the fields in the order keys were first added.
func (f Fields) All() iter.Seq[attribute.KeyValue] {
	return func(yield func(attribute.KeyValue) bool) {
		if f.set == nil {
			return
		}
		for _, kv := range f.set.KVs {
			if !yield(kv) {
				return
			}
		}
	}
}

// Slice returns a copy of the fields.
func (f Fields) Slice() []attribute.KeyValue {
	if f.set == nil {
		return nil
	}
	return append([]attribute.KeyValue(nil), f.set.KVs...)
}

// Dropped returns how many new keys were refused because the store was full.
func (f Fields) Dropped() int {
	if f.set == nil {
		return 0
	}
	return f.set.Dropped
}
