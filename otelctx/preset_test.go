package otelctx_test

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
)

func storeOf(ctx context.Context) map[string]string {
	m := map[string]string{}
	for kv := range otelctx.FieldsFrom(ctx).All() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// TestFieldPresetIsAddFields: AddTo gives the store AddFields gives, on an empty store and on
// top of one, and a preset shared by many contexts never changes under them.
func TestFieldPresetIsAddFields(t *testing.T) {
	kvs := []attribute.KeyValue{attribute.String("rpc.method", "A/B"), attribute.String("", "dropped"), attribute.String("k", "1"), attribute.String("k", "2")}
	p := otelctx.NewFieldPreset(kvs...)
	base := context.Background()
	got, want := storeOf(p.AddTo(base)), storeOf(otelctx.AddFields(base, kvs...))
	if len(got) != 2 || got["rpc.method"] != "A/B" || got["k"] != "2" || len(want) != len(got) {
		t.Fatalf("preset store %v, AddFields store %v", got, want)
	}
	outer := otelctx.AddFields(base, attribute.String("user", "ada"), attribute.String("k", "0"))
	if got := storeOf(p.AddTo(outer)); got["user"] != "ada" || got["k"] != "2" || len(got) != 3 {
		t.Errorf("on top of a store: %v", got)
	}
	// Adding to one request's store must not show in another's that shares the preset.
	a := p.AddTo(base)
	_ = otelctx.AddFields(a, attribute.String("k", "changed"), attribute.String("extra", "x"))
	if got := storeOf(p.AddTo(base)); got["k"] != "2" || len(got) != 2 {
		t.Errorf("the shared preset changed: %v", got)
	}
	if got := storeOf(otelctx.FieldPreset{}.AddTo(outer)); len(got) != 2 {
		t.Errorf("zero preset: %v", got)
	}
}

// TestAllocFieldPreset: on a context without a store, a preset costs one context entry.
func TestAllocFieldPreset(t *testing.T) {
	if raceBuild() {
		t.Skip("the race detector changes allocation counts")
	}
	p := otelctx.NewFieldPreset(attribute.String("rpc.method", "A/B"), attribute.String("rpc.service", "A"))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = p.AddTo(ctx) }); n != 1 {
		t.Errorf("AddTo on an empty store: %.0f allocations, want 1", n)
	}
}

// raceBuild reports whether the test binary was built with -race (from its build settings, so
// no build-tagged file is needed).
func raceBuild() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}
