package baggage

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

// roundTrip sends ctx's baggage over a header with the SDK's propagator and returns the context
// the other side sees.
func roundTrip(ctx context.Context) context.Context {
	carrier := propagation.MapCarrier{}
	propagation.Baggage{}.Inject(ctx, carrier)
	return propagation.Baggage{}.Extract(context.Background(), carrier)
}

func TestTypedRoundTrip(t *testing.T) {
	t.Run("string", func(t *testing.T) {
		for _, v := range []string{"", "alice", "a b,c;d=e", "☃"} {
			checkRoundTrip(t, String("s"), v)
		}
	})
	t.Run("int", func(t *testing.T) {
		for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
			checkRoundTrip(t, Int("n"), v)
		}
	})
	t.Run("bool", func(t *testing.T) {
		for _, v := range []bool{true, false} {
			checkRoundTrip(t, Bool("b"), v)
		}
	})
	t.Run("ready-made", func(t *testing.T) {
		checkRoundTrip(t, UserID(), "alice@example.com")
		checkRoundTrip(t, TenantID(), "acme-corp")
		checkRoundTrip(t, SessionID(), "01J9Z3K6Q4N8V2X7T5R1M0P9H3")
		checkRoundTrip(t, RequestID(), "4bf92f3577b34da6a3ce929d0e0e4736")
	})
	t.Run("custom codec", func(t *testing.T) {
		checkRoundTrip(t, NewMember[[]string]("roles", listCodec{}), []string{"admin", "billing"})
	})
}

func checkRoundTrip[T any](t *testing.T, m Member[T], v T) {
	t.Helper()
	ctx, err := m.Set(t.Context(), v)
	if err != nil {
		t.Fatalf("%s.Set(%v): %v", m.Key(), v, err)
	}
	got, ok := m.Get(roundTrip(ctx))
	if !ok || !equal(got, v) {
		t.Errorf("%s: round trip of %v = %v, %v", m.Key(), v, got, ok)
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		return strings.Join(as, "\x00") == strings.Join(b.([]string), "\x00")
	}
	return a == b
}

// listCodec is a user-defined codec: a list of identifiers joined by '|'.
type listCodec struct{}

func (listCodec) Encode(v []string) (string, error) {
	for _, s := range v {
		if _, err := (IDCodec{}).Encode(s); err != nil {
			return "", err
		}
	}
	return strings.Join(v, "|"), nil
}

func (listCodec) Decode(s string) ([]string, error) { return strings.Split(s, "|"), nil }

func TestSetErrors(t *testing.T) {
	base := ctxWith(t, "keep", "me")
	tests := []struct {
		name string
		set  func(context.Context) (context.Context, error)
		want error
	}{
		{"empty key", func(ctx context.Context) (context.Context, error) { return String("").Set(ctx, "v") }, ErrInvalidKey},
		{"space in key", func(ctx context.Context) (context.Context, error) { return String("user id").Set(ctx, "v") }, ErrInvalidKey},
		{"comma in key", func(ctx context.Context) (context.Context, error) { return String("a,b").Set(ctx, "v") }, ErrInvalidKey},
		{"non-ASCII key", func(ctx context.Context) (context.Context, error) { return String("ключ").Set(ctx, "v") }, ErrInvalidKey},
		{"invalid UTF-8", func(ctx context.Context) (context.Context, error) { return String("k").Set(ctx, "a\xffb") }, ErrInvalidValue},
		{"ID with space", func(ctx context.Context) (context.Context, error) { return UserID().Set(ctx, "alice smith") }, ErrInvalidValue},
		{"ID with CRLF", func(ctx context.Context) (context.Context, error) { return TenantID().Set(ctx, "acme\r\nx: y") }, ErrInvalidValue},
		{"empty ID", func(ctx context.Context) (context.Context, error) { return SessionID().Set(ctx, "") }, ErrInvalidValue},
		{"ID too long", func(ctx context.Context) (context.Context, error) {
			return RequestID().Set(ctx, strings.Repeat("a", MaxIDLen+1))
		}, ErrInvalidValue},
		{"codec refuses", func(ctx context.Context) (context.Context, error) {
			return NewMember[[]string]("roles", listCodec{}).Set(ctx, []string{"a b"})
		}, ErrInvalidValue},
		{"too large", func(ctx context.Context) (context.Context, error) {
			return String("big").Set(ctx, strings.Repeat("x", MaxBytes))
		}, ErrTooLarge},
		{"too large once encoded", func(ctx context.Context) (context.Context, error) {
			return String("big").Set(ctx, strings.Repeat(" ", MaxBytes/3)) // each space is %20
		}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.set(base)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != base {
				t.Errorf("a refused Set returned a different context")
			}
		})
	}
}

func TestZeroAndInvalidMembers(t *testing.T) {
	var zero Member[string]
	if zero.Err() == nil {
		t.Error("zero Member: Err() = nil")
	}
	if _, err := zero.Set(t.Context(), "v"); err == nil {
		t.Error("zero Member: Set succeeded")
	}
	if _, ok := zero.Get(ctxWith(t, "k", "v")); ok {
		t.Error("zero Member: Get reported a value")
	}
	if err := NewMember[string]("k", nil).Err(); err == nil {
		t.Error("nil codec: Err() = nil")
	}
	if err := String("bad key").Err(); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("bad key: Err() = %v", err)
	}
	if UserID().Key() != KeyUserID || Int("n").Key() != "n" {
		t.Error("Key() does not return the key")
	}
	if err := UserID().Err(); err != nil {
		t.Errorf("UserID: Err() = %v", err)
	}
	//nolint:staticcheck // a nil context must not panic
	if _, ok := UserID().Get(nil); ok {
		t.Error("Get(nil) reported a value")
	}
	//nolint:staticcheck
	if ctx, err := UserID().Set(nil, "u1"); err != nil || ctx == nil {
		t.Errorf("Set(nil) = %v, %v", ctx, err)
	}
}

func TestGetRefusesWhatCodecCannotRead(t *testing.T) {
	tests := []struct {
		name, key, value string
		get              func(context.Context) bool
	}{
		{"int", "n", "12x", func(ctx context.Context) bool { _, ok := Int("n").Get(ctx); return ok }},
		{"bool", "b", "maybe", func(ctx context.Context) bool { _, ok := Bool("b").Get(ctx); return ok }},
		{"id with space", KeyUserID, "alice smith", func(ctx context.Context) bool { _, ok := UserID().Get(ctx); return ok }},
		{"id with quote", KeyTenantID, `acme"`, func(ctx context.Context) bool { _, ok := TenantID().Get(ctx); return ok }},
		{"absent", "other", "v", func(ctx context.Context) bool { _, ok := String("k").Get(ctx); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.get(ctxWith(t, tt.key, tt.value)) {
				t.Errorf("Get reported a value for %s=%q", tt.key, tt.value)
			}
		})
	}
}

func TestSetReplacesAndDelete(t *testing.T) {
	m := String("k")
	ctx, _ := m.Set(t.Context(), "1")
	ctx, _ = m.Set(ctx, "2")
	if v, _ := m.Get(ctx); v != "2" || otelbaggage.FromContext(ctx).Len() != 1 {
		t.Errorf("after two Sets: %q, %d members", v, otelbaggage.FromContext(ctx).Len())
	}
	ctx, _ = String("other").Set(ctx, "x")
	ctx = m.Delete(ctx)
	if _, ok := m.Get(ctx); ok {
		t.Error("Delete left the member")
	}
	if v, _ := String("other").Get(ctx); v != "x" {
		t.Error("Delete removed another member")
	}
	if got := m.Delete(ctx); got != ctx {
		t.Error("Delete of an absent member returned a new context")
	}
	if b := otelbaggage.FromContext(String("other").Delete(ctx)); b.Len() != 0 {
		t.Errorf("%d members after deleting the last", b.Len())
	}
}

// TestSetWithinLimitsWhenReplacing: replacing a value at the limits is measured on the result,
// so a full baggage can still have a member updated.
func TestSetWithinLimitsWhenReplacing(t *testing.T) {
	ctx := t.Context()
	for i := range MaxMembers {
		var err error
		if ctx, err = Int("n"+string(rune('A'+i%26))+string(rune('a'+i/26))).Set(ctx, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Int("nAa").Set(ctx, 99); err != nil {
		t.Errorf("replacing in a full baggage: %v", err)
	}
}
