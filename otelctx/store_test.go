package otelctx

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestFieldsDownNotUpNotSideways(t *testing.T) {
	root := AddFields(context.Background(), attribute.String("request_id", "r1"))
	child := AddFields(root, attribute.String("user", "ada"))
	sibling := AddFields(root, attribute.String("user", "bob"), attribute.Int("cart", 3))
	grandchild := AddFields(child, attribute.String("step", "pay"))

	check := func(name string, ctx context.Context, want map[string]string) {
		t.Helper()
		f := FieldsFrom(ctx)
		if f.Len() != len(want) {
			t.Errorf("%s: %d fields %v, want %v", name, f.Len(), f.Slice(), want)
		}
		for k, v := range want {
			got, ok := f.Get(attribute.Key(k))
			if !ok || got.String() != v {
				t.Errorf("%s: %s = %q (%v), want %q", name, k, got.String(), ok, v)
			}
		}
	}
	check("root", root, map[string]string{"request_id": "r1"})
	check("child", child, map[string]string{"request_id": "r1", "user": "ada"})
	check("sibling", sibling, map[string]string{"request_id": "r1", "user": "bob", "cart": "3"})
	check("grandchild", grandchild, map[string]string{"request_id": "r1", "user": "ada", "step": "pay"})
	check("background", context.Background(), map[string]string{})
}

func TestFieldsReplaceKeepsOrder(t *testing.T) {
	ctx := AddFields(context.Background(), attribute.String("a", "1"), attribute.String("b", "2"))
	ctx = AddFields(ctx, attribute.String("a", "3"), attribute.String("", "invalid"))
	var got []string
	for kv := range FieldsFrom(ctx).All() {
		got = append(got, string(kv.Key)+"="+kv.Value.String())
	}
	if fmt.Sprint(got) != "[a=3 b=2]" {
		t.Fatalf("fields %v, want [a=3 b=2]", got)
	}
}

func TestFieldsBounded(t *testing.T) {
	ctx := context.Background()
	for i := range MaxFields + 10 {
		ctx = AddFields(ctx, attribute.Int(fmt.Sprintf("k%d", i), i))
	}
	f := FieldsFrom(ctx)
	if f.Len() != MaxFields || f.Dropped() != 10 {
		t.Fatalf("Len %d Dropped %d, want %d and 10", f.Len(), f.Dropped(), MaxFields)
	}
	// A full store still takes new values for keys it holds.
	ctx = AddFields(ctx, attribute.Int("k0", -1))
	if v, _ := FieldsFrom(ctx).Get("k0"); v.AsInt64() != -1 {
		t.Fatalf("k0 = %v after replace in a full store", v.AsInt64())
	}
}

func TestFieldsSliceIsACopy(t *testing.T) {
	ctx := AddFields(context.Background(), attribute.String("a", "1"))
	s := FieldsFrom(ctx).Slice()
	s[0] = attribute.String("a", "mutated")
	if v, _ := FieldsFrom(ctx).Get("a"); v.AsString() != "1" {
		t.Fatal("Slice exposed the store's backing array")
	}
}

func TestFieldsConcurrentRequests(t *testing.T) {
	base := AddFields(context.Background(), attribute.String("service", "shop"))
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := AddFields(base, attribute.Int("req", i))
			ctx = AddFields(ctx, attribute.String("stage", "later"))
			f := FieldsFrom(ctx)
			if v, _ := f.Get("req"); v.AsInt64() != int64(i) || f.Len() != 3 {
				t.Errorf("request %d saw req=%d len=%d", i, v.AsInt64(), f.Len())
			}
		}()
	}
	wg.Wait()
	if FieldsFrom(base).Len() != 1 {
		t.Fatal("requests changed the shared base store")
	}
}

func TestAddFieldsAllocations(t *testing.T) {
	ctx := context.Background()
	kvs := []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("url.path", "/x")}
	// One for the store (its small array backs the slice), one for context.WithValue.
	if n := testing.AllocsPerRun(100, func() { _ = AddFields(ctx, kvs...) }); n != 2 {
		t.Fatalf("AddFields of 2 fields on an empty store: %v allocations, want 2", n)
	}
}
