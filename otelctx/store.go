package otelctx

import (
	"context"
	"iter"

	"go.opentelemetry.io/otel/attribute"
)

// MaxFields is how many distinct keys the request store holds. Past it, new keys are dropped
// (and counted by Fields.Dropped); existing keys can still be given new values.
const MaxFields = 64

// fieldSet is one immutable version of the request store. Each AddFields makes a new one, so a
// version already handed to another goroutine never changes under it.
type fieldSet struct {
	kvs     []attribute.KeyValue
	dropped int
	small   [4]attribute.KeyValue // backs kvs for small stores: one allocation instead of two
	route   *routeSlot            // the server request's, for SetRoute; inherited by every version
}

var fieldsKey = NewKey[*fieldSet]("ctxtrail.fields")

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
	return addFields(ctx, nil, kvs)
}

// addFields is AddFields that can also give the new version a route slot (NewHandler's).
func addFields(ctx context.Context, route *routeSlot, kvs []attribute.KeyValue) context.Context {
	next := new(fieldSet)
	next.fill(fieldsKey.Value(ctx), route, kvs)
	return fieldsKey.With(ctx, next)
}

// fill makes next the version of the store that holds kvs on top of old (nil for none). A nil
// route keeps old's route slot.
func (next *fieldSet) fill(old *fieldSet, route *routeSlot, kvs []attribute.KeyValue) {
	next.route = route
	var have int
	if old != nil {
		have = len(old.kvs)
		next.dropped = old.dropped
		if route == nil {
			next.route = old.route
		}
	}
	if have+len(kvs) <= len(next.small) {
		next.kvs = next.small[:have]
	} else {
		next.kvs = make([]attribute.KeyValue, have, have+len(kvs))
	}
	if old != nil {
		copy(next.kvs, old.kvs)
	}
outer:
	for _, kv := range kvs {
		if !kv.Valid() {
			continue
		}
		for i := range next.kvs {
			if next.kvs[i].Key == kv.Key {
				next.kvs[i] = kv
				continue outer
			}
		}
		if len(next.kvs) >= MaxFields {
			next.dropped++
			continue
		}
		next.kvs = append(next.kvs, kv)
	}
}

// Fields is a read-only view of a context's request store. The zero Fields is empty.
type Fields struct{ set *fieldSet }

// FieldsFrom returns the request store of ctx.
func FieldsFrom(ctx context.Context) Fields {
	return Fields{set: fieldsKey.Value(ctx)}
}

// Len returns how many fields the store holds.
func (f Fields) Len() int {
	if f.set == nil {
		return 0
	}
	return len(f.set.kvs)
}

// At returns the i-th field, in the order keys were first added. It panics if i is out of
// range, like a slice index.
func (f Fields) At(i int) attribute.KeyValue { return f.set.kvs[i] }

// Get returns the value held for key.
func (f Fields) Get(key attribute.Key) (attribute.Value, bool) {
	if f.set == nil {
		return attribute.Value{}, false
	}
	for _, kv := range f.set.kvs {
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
		for _, kv := range f.set.kvs {
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
	return append([]attribute.KeyValue(nil), f.set.kvs...)
}

// Dropped returns how many new keys were refused because the store was full.
func (f Fields) Dropped() int {
	if f.set == nil {
		return 0
	}
	return f.set.dropped
}
