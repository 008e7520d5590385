package baggage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"go.opentelemetry.io/otel/attribute"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

func TestFilter(t *testing.T) {
	many := Keys("a", "b", "c", "d", "e", "f", "g", "h", "i", "j") // past smallFilter: a map
	tests := []struct {
		name   string
		f      Filter
		yes    []string
		no     []string
		names  []string
		isNone bool
	}{
		{name: "zero", f: Filter{}, no: []string{"a", ""}, isNone: true},
		{name: "keys", f: Keys("tenant.id", "", "user.id", "tenant.id"), yes: []string{"tenant.id", "user.id"},
			no: []string{"Tenant.id", "tenant", ""}, names: []string{"tenant.id", "user.id"}},
		{name: "many keys", f: many, yes: []string{"a", "j"}, no: []string{"k", "A"},
			names: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}},
		{name: "func", f: KeyFunc(func(k string) bool { return strings.HasPrefix(k, "app.") }),
			yes: []string{"app.x"}, no: []string{"x.app"}},
		{name: "nil func", f: KeyFunc(nil), no: []string{"a"}, isNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range tt.yes {
				if !tt.f.Match(k) {
					t.Errorf("Match(%q) = false", k)
				}
			}
			for _, k := range tt.no {
				if tt.f.Match(k) {
					t.Errorf("Match(%q) = true", k)
				}
			}
			if got := tt.f.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
			if tt.f.empty() != tt.isNone {
				t.Errorf("empty() = %v", tt.f.empty())
			}
		})
	}
	t.Run("copies its input", func(t *testing.T) {
		keys := []string{"a", "b"}
		f := Keys(keys...)
		keys[0] = "z"
		if !f.Match("a") || f.Match("z") {
			t.Error("Keys kept the caller's slice")
		}
		f.Names()[0] = "z"
		if !f.Match("a") {
			t.Error("Names handed out the filter's slice")
		}
	})
}

func TestRestrictAndWithout(t *testing.T) {
	ctx := ctxWith(t, "tenant.id", "acme", "user.id", "u1", "debug", "1", "auth.token", "s3cr3t")
	prefix := KeyFunc(func(k string) bool { return strings.HasSuffix(k, ".id") })
	tests := []struct {
		name     string
		apply    func(context.Context) context.Context
		want     []string
		sameCtx  bool
		fromNone bool
	}{
		{name: "restrict keys", apply: func(c context.Context) context.Context { return Restrict(c, Keys("tenant.id", "user.id", "absent")) },
			want: []string{"tenant.id=acme", "user.id=u1"}},
		{name: "restrict func", apply: func(c context.Context) context.Context { return Restrict(c, prefix) },
			want: []string{"tenant.id=acme", "user.id=u1"}},
		{name: "restrict to nothing", apply: func(c context.Context) context.Context { return Restrict(c, Filter{}) }},
		{name: "restrict allowing all", apply: func(c context.Context) context.Context {
			return Restrict(c, Keys("tenant.id", "user.id", "debug", "auth.token"))
		}, want: []string{"auth.token=s3cr3t", "debug=1", "tenant.id=acme", "user.id=u1"}, sameCtx: true},
		{name: "restrict func allowing all", apply: func(c context.Context) context.Context {
			return Restrict(c, KeyFunc(func(string) bool { return true }))
		}, want: []string{"auth.token=s3cr3t", "debug=1", "tenant.id=acme", "user.id=u1"}, sameCtx: true},
		{name: "without keys", apply: func(c context.Context) context.Context { return Without(c, Keys("auth.token", "debug")) },
			want: []string{"tenant.id=acme", "user.id=u1"}},
		{name: "without func", apply: func(c context.Context) context.Context { return Without(c, prefix) },
			want: []string{"auth.token=s3cr3t", "debug=1"}},
		{name: "without absent", apply: func(c context.Context) context.Context { return Without(c, Keys("nope")) },
			want: []string{"auth.token=s3cr3t", "debug=1", "tenant.id=acme", "user.id=u1"}, sameCtx: true},
		{name: "without zero filter", apply: func(c context.Context) context.Context { return Without(c, Filter{}) },
			want: []string{"auth.token=s3cr3t", "debug=1", "tenant.id=acme", "user.id=u1"}, sameCtx: true},
		{name: "without everything", apply: func(c context.Context) context.Context {
			return Without(c, KeyFunc(func(string) bool { return true }))
		}},
		{name: "restrict empty", apply: func(context.Context) context.Context { return Restrict(t.Context(), Keys("a")) },
			fromNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.apply(ctx)
			if v := view(otelbaggage.FromContext(got)); !slices.Equal(v, tt.want) {
				t.Errorf("got %q, want %q", v, tt.want)
			}
			if tt.sameCtx && got != ctx {
				t.Error("returned a new context although nothing changed")
			}
		})
	}
	//nolint:staticcheck // nil contexts must not panic
	if Restrict(nil, Keys("a")) == nil || Without(nil, Keys("a")) == nil {
		t.Error("nil context gave a nil context")
	}
}

func TestAttributes(t *testing.T) {
	ctx := ctxWith(t, "user.id", "u1", "tenant.id", "acme", "other", "x")
	tests := []struct {
		name string
		f    Filter
		want []attribute.KeyValue
	}{
		{"keys in filter order", Keys("user.id", "missing", "tenant.id"),
			[]attribute.KeyValue{attribute.String("user.id", "u1"), attribute.String("tenant.id", "acme")}},
		{"func in key order", KeyFunc(func(k string) bool { return k != "other" }),
			[]attribute.KeyValue{attribute.String("tenant.id", "acme"), attribute.String("user.id", "u1")}},
		{"zero filter", Filter{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Attributes(ctx, tt.f); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := Attributes(t.Context(), Keys("user.id")); got != nil {
		t.Errorf("no baggage: %v", got)
	}
}

// TestAllocAppendAttributes: copying members into a caller's buffer allocates nothing.
func TestAllocAppendAttributes(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts differ under the race detector")
	}
	ctx := ctxWith(t, "user.id", "u1", "tenant.id", "acme", "other", "x")
	f := Keys("user.id", "tenant.id")
	buf := make([]attribute.KeyValue, 0, 4)
	if n := testing.AllocsPerRun(100, func() { buf = AppendAttributes(buf[:0], ctx, f) }); n != 0 {
		t.Errorf("AppendAttributes allocates %v times", n)
	}
	if len(buf) != 2 {
		t.Errorf("AppendAttributes kept %v, want the 2 members", buf)
	}
}

func TestAllowMiddleware(t *testing.T) {
	var seen []string
	var sameCtx bool
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = view(otelbaggage.FromContext(r.Context()))
		sameCtx = r.Context().Value(ctxMarker{}) != nil
	})
	// extractSDK stands for the middleware that extracts headers (otelctx's, otelhttp's).
	extractSDK := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := propagation.Baggage{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxMarker{}, true)))
		})
	}
	h := extractSDK(Allow(Keys("tenant.id", "user.id"))(inner))
	tests := []struct {
		name   string
		header []string
		want   []string
	}{
		{"allowed and not", []string{"tenant.id=acme,is_admin=true", "user.id=u1"}, []string{"tenant.id=acme", "user.id=u1"}},
		{"none allowed", []string{"is_admin=true"}, nil},
		{"no header", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.header {
				r.Header.Add("baggage", v)
			}
			seen = []string{"handler not called"}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !slices.Equal(seen, tt.want) {
				t.Errorf("handler saw %q, want %q", seen, tt.want)
			}
			if !sameCtx {
				t.Error("the middleware lost the request's context")
			}
		})
	}
	t.Run("nil next", func(t *testing.T) {
		rec := httptest.NewRecorder()
		Allow(Keys("a"))(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("status %d", rec.Code)
		}
	})
}

type ctxMarker struct{}

// prefixPropagator writes each baggage member as its own header, "ot-baggage-<key>", the way
// OpenTracing and Jaeger carry baggage: a second carrier Deny must cover.
type prefixPropagator struct{}

func (prefixPropagator) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	for _, m := range otelbaggage.FromContext(ctx).Members() {
		c.Set("ot-baggage-"+m.Key(), m.Value())
	}
}

func (prefixPropagator) Extract(ctx context.Context, _ propagation.TextMapCarrier) context.Context {
	return ctx
}

func (prefixPropagator) Fields() []string { return nil }

func TestDeny(t *testing.T) {
	ctx := ctxWith(t, "tenant.id", "acme", "auth.token", "s3cr3t", "internal.debug", "1")
	deny := KeyFunc(func(k string) bool { return k == "auth.token" || strings.HasPrefix(k, "internal.") })
	inners := map[string]propagation.TextMapPropagator{
		"sdk":       propagation.Baggage{},
		"ctxtrail":  NewPropagator(),
		"composite": propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, prefixPropagator{}),
	}
	for name, inner := range inners {
		t.Run(name, func(t *testing.T) {
			p := Deny(inner, deny)
			carrier := propagation.MapCarrier{}
			p.Inject(ctx, carrier)
			for k, v := range carrier {
				if strings.Contains(k, "auth.token") || strings.Contains(v, "s3cr3t") || strings.Contains(k+v, "internal.") {
					t.Errorf("denied member on the wire: %s: %s", k, v)
				}
			}
			if got := view(extract(propagation.Baggage{}, carrier.Get("baggage"))); !slices.Equal(got, []string{"tenant.id=acme"}) {
				t.Errorf("wire carries %q", got)
			}
			if name == "composite" && carrier.Get("ot-baggage-tenant.id") != "acme" {
				t.Error("the second baggage carrier lost an allowed member")
			}
			// A composite's Fields come out of a map, in any order.
			if got, want := slices.Sorted(slices.Values(p.Fields())), slices.Sorted(slices.Values(inner.Fields())); !slices.Equal(got, want) {
				t.Errorf("Fields() = %q", p.Fields())
			}
			// Extract is inner's: the denylist governs what leaves, not what enters.
			in := p.Extract(t.Context(), propagation.MapCarrier{"baggage": "auth.token=x"})
			if otelbaggage.FromContext(in).Member("auth.token").Key() == "" {
				t.Error("Deny filtered an incoming member")
			}
		})
	}
	// The caller's context keeps its baggage: Deny strips a copy.
	if otelbaggage.FromContext(ctx).Member("auth.token").Value() != "s3cr3t" {
		t.Error("Deny changed the caller's context")
	}
	t.Run("nil inner", func(t *testing.T) {
		carrier := propagation.MapCarrier{}
		Deny(nil, deny).Inject(ctx, carrier)
		if len(carrier) != 0 {
			t.Errorf("nil inner injected %v", carrier)
		}
	})
}
