package baggage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/race"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// valuesCarrier is a carrier with several values per key that is not an http.Header, such as
// gRPC metadata.
type valuesCarrier map[string][]string

func (c valuesCarrier) Get(k string) string {
	if v := c[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c valuesCarrier) Set(k, v string)          { c[k] = []string{v} }
func (c valuesCarrier) Keys() []string           { return nil }
func (c valuesCarrier) Values(k string) []string { return c[k] }

func TestExtractCarriers(t *testing.T) {
	tests := []struct {
		name    string
		carrier propagation.TextMapCarrier
		want    []string
	}{
		{"header, several fields", propagation.HeaderCarrier(http.Header{"Baggage": {"a=1", "b=2"}}), []string{"a=1", "b=2"}},
		{"values getter", valuesCarrier{"baggage": {"a=1", "b=2"}}, []string{"a=1", "b=2"}},
		{"map carrier, Get only", propagation.MapCarrier{"baggage": "a=1,b=2"}, []string{"a=1", "b=2"}},
		{"no baggage", propagation.MapCarrier{"other": "x"}, nil},
		{"nil carrier", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := NewPropagator().Extract(t.Context(), tt.carrier)
			if got := view(otelbaggage.FromContext(ctx)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	//nolint:staticcheck // a nil context must not panic
	if NewPropagator().Extract(nil, propagation.MapCarrier{}) == nil {
		t.Error("Extract(nil) = nil")
	}
}

// TestExtractKeepsParent: as with the SDK, a header that yields nothing leaves the parent's
// baggage; one that yields members replaces it.
func TestExtractKeepsParent(t *testing.T) {
	parent := ctxWith(t, "local", "x")
	p := NewPropagator(WithAllow(Keys("tenant.id")), WithErrorHandler(func(error) {}))
	if got := view(otelbaggage.FromContext(p.Extract(parent, propagation.MapCarrier{"baggage": "other=1"}))); !slices.Equal(got, []string{"local=x"}) {
		t.Errorf("nothing allowed: %q", got)
	}
	if got := view(otelbaggage.FromContext(p.Extract(parent, propagation.MapCarrier{"baggage": "tenant.id=acme"}))); !slices.Equal(got, []string{"tenant.id=acme"}) {
		t.Errorf("allowed member: %q", got)
	}
}

func TestWithAllow(t *testing.T) {
	var c collect
	p := NewPropagator(WithAllow(Keys("tenant.id", "user.id")), WithErrorHandler(c.handle))
	got := view(extract(p, "tenant.id=acme,is_admin=true;p", "user.id=u1,role=root"))
	if want := []string{"tenant.id=acme", "user.id=u1"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(c.errs) != 0 {
		t.Errorf("members outside the allowlist were reported: %v", c.errs)
	}
	if got := extract(NewPropagator(WithAllow(Filter{})), "a=1").Len(); got != 0 {
		t.Errorf("zero allowlist kept %d members", got)
	}
}

func TestWarningsRateLimited(t *testing.T) {
	now := time.Unix(1000, 0)
	var c collect
	p := NewPropagator(WithErrorHandler(c.handle), WithWarnInterval(time.Minute), withClock(func() time.Time { return now }))
	bad := propagation.MapCarrier{"baggage": "bad member"}
	for range 10 {
		p.Extract(t.Context(), bad)
	}
	if len(c.errs) != 1 || p.Warnings() != 10 {
		t.Fatalf("%d reports, %d counted; want 1 and 10", len(c.errs), p.Warnings())
	}
	if !errors.Is(c.errs[0], ErrMalformed) {
		t.Errorf("report %v does not wrap ErrMalformed", c.errs[0])
	}
	p.Extract(t.Context(), propagation.MapCarrier{"baggage": "fine=1"})
	if p.Warnings() != 10 {
		t.Errorf("a good header was counted")
	}
	now = now.Add(time.Minute)
	p.Extract(t.Context(), bad)
	if len(c.errs) != 2 || !strings.Contains(c.errs[1].Error(), "9 more") {
		t.Errorf("second report = %v, want one saying 9 more were swallowed", c.errs[len(c.errs)-1])
	}
}

func TestInjectLimits(t *testing.T) {
	// SetMember, unlike Member.Set, checks no limit: build a baggage of 70 members that way.
	b := otelbaggage.Baggage{}
	for i := range 70 {
		m, _ := otelbaggage.NewMemberRaw(fmt.Sprintf("k%02d", i), "v")
		b, _ = b.SetMember(m)
	}
	big, _ := otelbaggage.NewMemberRaw("zz", strings.Repeat("x", MaxBytes))
	nonToken, _ := otelbaggage.NewMemberRaw("not a token", "v")
	tests := []struct {
		name        string
		b           otelbaggage.Baggage
		wantMembers int
		wantFirst   string
		wantLast    string
	}{
		{"70 members", b, MaxMembers, "k00", "k63"},
		{"one member too large", mustSet(t, mustSet(t, otelbaggage.Baggage{}, big), member(t, "a", "1")), 1, "a", "a"},
		{"non-token key left out", mustSet(t, mustSet(t, otelbaggage.Baggage{}, nonToken), member(t, "a", "1")), 1, "a", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collect
			p := NewPropagator(WithErrorHandler(c.handle))
			carrier := propagation.MapCarrier{}
			p.Inject(otelbaggage.ContextWithBaggage(t.Context(), tt.b), carrier)
			wire := carrier.Get("baggage")
			if len(wire) > MaxBytes {
				t.Fatalf("%d bytes on the wire", len(wire))
			}
			parts := strings.Split(wire, ",")
			if len(parts) != tt.wantMembers || !strings.HasPrefix(parts[0], tt.wantFirst+"=") ||
				!strings.HasPrefix(parts[len(parts)-1], tt.wantLast+"=") {
				t.Errorf("wire %q", wire)
			}
			for _, part := range parts {
				if strings.HasPrefix(part, "zz=") && len(part) != 3+MaxBytes {
					t.Errorf("a member was cut: %d bytes", len(part))
				}
			}
		})
	}
	t.Run("reported", func(t *testing.T) {
		var c collect
		p := NewPropagator(WithErrorHandler(c.handle))
		p.Inject(otelbaggage.ContextWithBaggage(t.Context(), b), propagation.MapCarrier{})
		if len(c.errs) != 1 || !strings.Contains(c.errs[0].Error(), "6 members dropped") {
			t.Errorf("reports = %v", c.errs)
		}
	})
	t.Run("nothing to inject", func(t *testing.T) {
		carrier := propagation.MapCarrier{}
		NewPropagator().Inject(t.Context(), carrier)
		NewPropagator().Inject(t.Context(), nil)
		if len(carrier) != 0 {
			t.Errorf("injected %v", carrier)
		}
		if f := NewPropagator().Fields(); !slices.Equal(f, []string{"baggage"}) {
			t.Errorf("Fields() = %q", f)
		}
	})
}

func member(t *testing.T, k, v string) otelbaggage.Member {
	t.Helper()
	m, err := otelbaggage.NewMemberRaw(k, v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustSet(t *testing.T, b otelbaggage.Baggage, m otelbaggage.Member) otelbaggage.Baggage {
	t.Helper()
	b, err := b.SetMember(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSDKLimitsThroughPolicy checks what the SDK's own propagator does with hostile input, as
// read in go.opentelemetry.io/otel@v1.47.0/propagation/baggage.go, when our policy sits behind
// it: it reads every field (HeaderCarrier is a ValuesGetter) and gives up past 8192 bytes in
// total; under that it parses up to 65 members and baggage.New drops the excess in map order.
// Allow then cuts that to the allowlist, so a handler never sees more than the allowlist names,
// but which allowed members survive a flood is chance. Propagator keeps the first ones.
func TestSDKLimitsThroughPolicy(t *testing.T) {
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	allow := Keys("k0", "k1", "k999")
	t.Run("sdk then Restrict", func(t *testing.T) {
		ctx := propagation.Baggage{}.Extract(t.Context(), propagation.HeaderCarrier(http.Header{"Baggage": many}))
		if n := otelbaggage.FromContext(ctx).Len(); n > MaxMembers {
			t.Errorf("SDK kept %d members", n)
		}
		if n := otelbaggage.FromContext(Restrict(ctx, allow)).Len(); n > 2 {
			t.Errorf("after the allowlist: %d members, want at most 2 (k999 lies past the 64th member)", n)
		}
	})
	t.Run("ctxtrail keeps the first", func(t *testing.T) {
		b := extract(NewPropagator(WithAllow(allow), WithErrorHandler(func(error) {})), many...)
		if got := view(b); !slices.Equal(got, []string{"k0=v", "k1=v"}) {
			t.Errorf("got %q", got)
		}
	})
	t.Run("sdk refuses more than 8192 bytes whole", func(t *testing.T) {
		big := []string{"a=1", strings.Repeat("b", MaxBytes)}
		if n := extract(propagation.Baggage{}, big...).Len(); n != 0 {
			t.Errorf("SDK kept %d members", n)
		}
		if got := view(extract(NewPropagator(WithErrorHandler(func(error) {})), big...)); !slices.Equal(got, []string{"a=1"}) {
			t.Errorf("ctxtrail kept %q, want the member before the limit", got)
		}
	})
}

// TestAllocNoBaggage: a request without a baggage header allocates nothing in any piece.
func TestAllocNoBaggage(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts differ under the race detector")
	}
	h := propagation.HeaderCarrier(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	p := NewPropagator(WithAllow(Keys(KeyTenantID)))
	deny := Deny(p, Keys("auth.token"))
	ctx := context.Background()
	allow, denied := Keys(KeyTenantID), Keys("auth.token")
	sp := NewSpanProcessor(allow)
	var span sdktrace.ReadWriteSpan = fakeSpan{}
	tests := map[string]func(){
		"Extract":  func() { _ = p.Extract(ctx, h) },
		"Inject":   func() { deny.Inject(ctx, h) },
		"Restrict": func() { _ = Restrict(ctx, allow) },
		"Without":  func() { _ = Without(ctx, denied) },
		"OnStart":  func() { sp.OnStart(ctx, span) },
		"Get":      func() { _, _ = TenantID().Get(ctx) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, fn); n != 0 {
				t.Errorf("%v allocations", n)
			}
		})
	}
}

// fakeSpan is a non-nil ReadWriteSpan for paths that must not touch the span; any method call
// would panic on the nil embedded interface.
type fakeSpan struct{ sdktrace.ReadWriteSpan }
