package otelctx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestKeyWithFrom(t *testing.T) {
	k := NewKey[string]("user")
	ctx := context.Background()
	if v, ok := k.From(ctx); ok || v != "" {
		t.Fatalf("empty ctx: got %q, %v", v, ok)
	}
	ctx2 := k.With(ctx, "ada")
	if v, ok := k.From(ctx2); !ok || v != "ada" {
		t.Fatalf("got %q, %v; want ada, true", v, ok)
	}
	if _, ok := k.From(ctx); ok {
		t.Fatal("With changed the parent context")
	}
	if got := k.String(); got != "user" {
		t.Fatalf("String() = %q", got)
	}
}

func TestKeysNeverCollide(t *testing.T) {
	a := NewKey[string]("same")
	b := NewKey[string]("same")
	ctx := a.With(context.Background(), "a")
	if _, ok := b.From(ctx); ok {
		t.Fatal("two keys with one name share a slot")
	}
	c := NewKey[int]("same")
	ctx = c.With(ctx, 7)
	if v := a.Value(ctx); v != "a" {
		t.Fatalf("a = %q after setting c", v)
	}
}

func TestKeyZeroAndNilNeverPanic(t *testing.T) {
	var zero Key[int]
	if _, ok := zero.From(context.Background()); ok {
		t.Fatal("zero key reported a value")
	}
	k := NewKey[int]("n")
	//nolint:staticcheck // a nil context is what we are checking
	if _, ok := k.From(nil); ok {
		t.Fatal("nil ctx reported a value")
	}
	if zero.String() == "" {
		t.Fatal("zero key has an empty name")
	}
}

func TestKeyRun(t *testing.T) {
	k := NewKey[int]("n")
	ctx := context.Background()
	sentinel := errors.New("boom")
	err := k.Run(ctx, 42, func(ctx context.Context) error {
		if v := k.Value(ctx); v != 42 {
			t.Errorf("inside Run: %d", v)
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("Run returned %v", err)
	}
	if _, ok := k.From(ctx); ok {
		t.Fatal("value leaked out of Run")
	}
}

// Each of 1,000 goroutines puts its own value in, hands its ctx down a chain of calls and a
// nested goroutine, and must only ever see its own value.
func TestKeyIsolationAcrossGoroutines(t *testing.T) {
	k := NewKey[int]("request")
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_ = k.Run(context.Background(), i, func(ctx context.Context) error {
				done := make(chan int)
				go func() { done <- k.Value(ctx) }()
				if got := k.Value(ctx); got != i {
					errs <- fmt.Errorf("goroutine %d saw %d", i, got)
				}
				if got := <-done; got != i {
					errs <- fmt.Errorf("child of %d saw %d", i, got)
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
