package otelctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
)

// Key is a typed slot in a context.Context: ctxtrail's AsyncLocalStorage. A value put in with
// With is seen by every context derived from the returned one (the rest of the call chain,
// goroutines started with it) and by nothing else: not the parent, not a sibling request.
//
// The zero Key is not usable; create keys with NewKey, usually as package-level variables.
type Key[T any] struct{ id *reqstore.KeyID }

// NewKey returns a new Key. The name is for humans (String, debugging); identity comes from the
// Key itself, so two calls with the same name give two independent slots.
func NewKey[T any](name string) Key[T] {
	return Key[T]{id: &reqstore.KeyID{Name: name}}
}

// String returns the name the Key was created with.
func (k Key[T]) String() string {
	if k.id == nil {
		return "otelctx.Key(<zero>)"
	}
	return k.id.Name
}

// With returns a copy of ctx in which k holds v.
func (k Key[T]) With(ctx context.Context, v T) context.Context {
	return context.WithValue(ctx, k.id, v)
}

// From returns the value k holds in ctx and whether it holds one. A zero Key or a nil ctx
// reports false, never panics.
func (k Key[T]) From(ctx context.Context) (T, bool) {
	if ctx == nil || k.id == nil {
		var zero T
		return zero, false
	}
	v, ok := ctx.Value(k.id).(T)
	return v, ok
}

// Value returns the value k holds in ctx, or T's zero value.
func (k Key[T]) Value(ctx context.Context) T {
	v, _ := k.From(ctx)
	return v
}

// Run calls fn with a context in which k holds v and returns fn's error: the shape of
// AsyncLocalStorage.run(store, fn). The value is gone again for the caller once Run returns,
// because the caller's ctx was never changed.
func (k Key[T]) Run(ctx context.Context, v T, fn func(context.Context) error) error {
	return fn(k.With(ctx, v))
}
