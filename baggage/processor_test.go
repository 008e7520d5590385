package baggage

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newTracer returns a tracer whose spans pass through sp and are recorded.
func newTracer(t testing.TB, sp sdktrace.SpanProcessor) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// attrs renders a span's attributes as sorted "key=value" strings.
func attrs(kvs []attribute.KeyValue) []string {
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, string(kv.Key)+"="+kv.Value.String())
	}
	slices.Sort(out)
	return out
}

func TestSpanProcessor(t *testing.T) {
	withBaggage := ctxWith(t, "user.id", "u1", "tenant.id", "acme", "auth.token", "s3cr3t")
	tests := []struct {
		name   string
		filter Filter
		ctx    context.Context
		want   []string
	}{
		{"keys", Keys(KeyUserID, KeyTenantID), withBaggage, []string{"tenant.id=acme", "user.id=u1"}},
		{"func", KeyFunc(func(k string) bool { return strings.HasSuffix(k, ".id") }), withBaggage, []string{"tenant.id=acme", "user.id=u1"}},
		{"zero filter copies nothing", Filter{}, withBaggage, []string{}},
		{"no baggage", Keys(KeyUserID), context.Background(), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newTracer(t, NewSpanProcessor(tt.filter))
			ctx, parent := tp.Tracer("test").Start(tt.ctx, "parent")
			_, child := tp.Tracer("test").Start(ctx, "child")
			child.End()
			parent.End()
			ended := rec.Ended()
			if len(ended) != 2 {
				t.Fatalf("%d spans ended", len(ended))
			}
			for _, s := range ended {
				if got := attrs(s.Attributes()); !slices.Equal(got, tt.want) {
					t.Errorf("span %s: attributes %q, want %q", s.Name(), got, tt.want)
				}
			}
		})
	}
	t.Run("more members than the stack buffer", func(t *testing.T) {
		var kv, keys []string
		for i := range copyBuf + 4 {
			k := "k" + string(rune('a'+i))
			kv, keys = append(kv, k, "v"), append(keys, k)
		}
		tp, rec := newTracer(t, NewSpanProcessor(Keys(keys...)))
		_, s := tp.Tracer("test").Start(ctxWith(t, kv...), "s")
		s.End()
		if n := len(rec.Ended()[0].Attributes()); n != len(keys) {
			t.Errorf("%d attributes, want %d", n, len(keys))
		}
	})
	t.Run("lifecycle", func(t *testing.T) {
		p := NewSpanProcessor(Keys("a"))
		p.OnEnd(nil)
		p.OnStart(context.Background(), nil)
		if p.ForceFlush(t.Context()) != nil || p.Shutdown(t.Context()) != nil {
			t.Error("ForceFlush or Shutdown failed")
		}
	})
}
