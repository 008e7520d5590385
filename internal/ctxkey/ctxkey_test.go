package ctxkey

import (
	"context"
	"testing"
)

type key struct{}

func TestLearn(t *testing.T) {
	if k := Learn(func(ctx context.Context) { _ = ctx.Value(key{}); _ = ctx.Value("second") }); k != (key{}) {
		t.Fatalf("learned %v, want the first key asked for", k)
	}
	if k := Learn(func(context.Context) {}); k != nil {
		t.Fatalf("learned %v from a lookup that asked for nothing", k)
	}
}
