package propagators_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const (
	ctTP  = "00-12345678901234567890123456789012-1234567890123456-01"
	ctTP2 = "00-abcdef78901234567890123456789012-1234567890123456-01"
)

// ctHeader builds an http.Header the way net/http's server does: canonical names, one entry per
// field, in order.
func ctHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func ctMembers(prefix string, n int) string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = fmt.Sprintf("%s%02d=%d", prefix, i, i)
	}
	return strings.Join(ms, ",")
}

func TestHeaderCarrierGet(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		key  string
		want string
	}{
		{"traceparent", ctHeader("traceparent", ctTP), "traceparent", ctTP},
		{"traceparent any case key", ctHeader("traceparent", ctTP), "TraceParent", ctTP},
		{"traceparent OWS trimmed", ctHeader("traceparent", " \t"+ctTP+"\t "), "traceparent", ctTP},
		{"two traceparent fields are invalid", ctHeader("traceparent", ctTP, "traceparent", ctTP2), "traceparent", ""},
		{"two identical traceparent fields are invalid", ctHeader("traceparent", ctTP, "traceparent", ctTP), "traceparent", ""},
		{"no traceparent", ctHeader(), "traceparent", ""},
		{"version 00 with trailing dash", ctHeader("traceparent", ctTP+"-"), "traceparent", ""},
		{"future version kept for the parser", ctHeader("traceparent", "cc"+ctTP[2:]+"-x"), "traceparent", "cc" + ctTP[2:] + "-x"},
		{"traceparent over 512 bytes", ctHeader("traceparent", "cc"+ctTP[2:]+"-"+strings.Repeat("a", 600)), "traceparent", ""},
		{"tracestate fields joined in order", ctHeader("tracestate", "foo=1,bar=2", "tracestate", "rojo=1", "tracestate", "baz=3"), "tracestate", "foo=1,bar=2,rojo=1,baz=3"},
		{"tracestate single field untouched", ctHeader("tracestate", "foo=1 \t , \t bar=2"), "tracestate", "foo=1 \t , \t bar=2"},
		{"tracestate empty field skipped", ctHeader("tracestate", "", "tracestate", "foo=1"), "tracestate", "foo=1"},
		{"tracestate blank members dropped", ctHeader("tracestate", "foo=1, \t ,,bar=2,"), "tracestate", "foo=1,bar=2"},
		{"tracestate only blanks", ctHeader("tracestate", " , ,"), "tracestate", ""},
		{"tracestate 32 members across fields", ctHeader("tracestate", ctMembers("a", 16), "tracestate", ctMembers("b", 16)), "tracestate", ctMembers("a", 16) + "," + ctMembers("b", 16)},
		{"tracestate 33 members across fields", ctHeader("tracestate", ctMembers("a", 16), "tracestate", ctMembers("b", 17)), "tracestate", ""},
		{"tracestate 33 members in one field", ctHeader("tracestate", ctMembers("a", 33)), "tracestate", ""},
		{"tracestate longer than 32 full members", ctHeader("tracestate", "a="+strings.Repeat("v", 17000)), "tracestate", ""},
		{"x-trace-id", ctHeader("x-trace-id", " 12345678901234567890123456789012 "), "x-trace-id", "12345678901234567890123456789012"},
		{"two x-trace-id fields", ctHeader("x-trace-id", "1", "x-trace-id", "2"), "x-trace-id", ""},
		{"two x-request-id fields", ctHeader("x-request-id", "a", "x-request-id", "b"), "x-request-id", ""},
		{"other key first value", ctHeader("x-other", "a", "x-other", "b"), "x-other", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := propagators.HeaderCarrier(tt.h).Get(tt.key); got != tt.want {
				t.Fatalf("Get(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestHeaderCarrierTracestate65Fields(t *testing.T) {
	h := http.Header{}
	for i := 0; i < 65; i++ {
		h.Add("tracestate", "")
	}
	h.Add("tracestate", "foo=1")
	if got := propagators.HeaderCarrier(h).Get("tracestate"); got != "" {
		t.Fatalf("66 tracestate fields: Get = %q, want discarded", got)
	}
}

// TestSDKHeaderCarrierTakesFirstTraceparent shows why HeaderCarrier exists: through the SDK's
// carrier two traceparent fields continue the first trace; through ours they start a new one.
func TestSDKHeaderCarrierTakesFirstTraceparent(t *testing.T) {
	h := ctHeader("traceparent", ctTP, "traceparent", ctTP2)
	var tc propagation.TraceContext
	sdk := trace.SpanContextFromContext(tc.Extract(context.Background(), propagation.HeaderCarrier(h)))
	if !sdk.IsValid() {
		t.Fatal("expected the SDK carrier to pass the first traceparent")
	}
	ours := trace.SpanContextFromContext(tc.Extract(context.Background(), propagators.HeaderCarrier(h)))
	if ours.IsValid() {
		t.Fatalf("two traceparent fields extracted as %v, want an invalid context", ours)
	}
}

func TestHeaderCarrierBaggage(t *testing.T) {
	tests := []struct {
		name    string
		fields  int
		members int // members the Baggage propagator extracts
	}{
		{"one field", 1, 1},
		{"64 fields", 64, 64},
		{"65 fields: the first 64 kept", 65, 64},
		{"1000 fields: the first 64 kept", 1000, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i < tt.fields; i++ {
				h.Add("baggage", fmt.Sprintf("k%d=v", i))
			}
			c := propagators.HeaderCarrier(h)
			if got := c.Get("baggage"); (tt.members == 0) != (got == "") {
				t.Fatalf("Get returned %q", got)
			}
			bag := baggage.FromContext(propagation.Baggage{}.Extract(context.Background(), c))
			if bag.Len() != tt.members {
				t.Fatalf("extracted %d members, want %d", bag.Len(), tt.members)
			}
			for i := 0; i < tt.members; i++ { // the first ones, whole
				if k := fmt.Sprintf("k%d", i); bag.Member(k).Value() != "v" {
					t.Fatalf("member %s missing from %q", k, bag.String())
				}
			}
		})
	}
}

func TestHeaderCarrierSetAndKeys(t *testing.T) {
	h := http.Header{}
	c := propagators.HeaderCarrier(h)
	c.Set("traceparent", "a")
	c.Set("x-request-id", "b")
	c.Set("x-custom-thing", "c")
	c.Set("traceparent", "d")
	if got := h.Values("Traceparent"); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("traceparent = %q", got)
	}
	if got := h.Get("X-Request-Id"); got != "b" {
		t.Fatalf("x-request-id = %q", got)
	}
	if got := h.Get("X-Custom-Thing"); got != "c" {
		t.Fatalf("x-custom-thing = %q", got)
	}
	keys := c.Keys()
	slices.Sort(keys)
	if want := []string{"Traceparent", "X-Custom-Thing", "X-Request-Id"}; !slices.Equal(keys, want) {
		t.Fatalf("Keys = %q, want %q", keys, want)
	}
	propagators.HeaderCarrier(nil).Set("traceparent", "x") // must not panic
	if got := propagators.HeaderCarrier(nil).Get("traceparent"); got != "" {
		t.Fatalf("nil carrier Get = %q", got)
	}
}

func TestHeaderCarrierGetAllocatesNothing(t *testing.T) {
	h := ctHeader("traceparent", ctTP, "tracestate", "foo=1,bar=2", "x-trace-id", "12345678901234567890123456789012",
		"x-request-id", "r1", "baggage", "k=v,tenant=acme;p")
	c := propagators.HeaderCarrier(h)
	allocs := testing.AllocsPerRun(100, func() {
		_ = c.Get("traceparent")
		_ = c.Get("tracestate")
		_ = c.Get("x-trace-id")
		_ = c.Get("x-request-id")
		_ = c.Get("baggage")
		_ = c.Get("X-Missing") // already canonical: no allocation
	})
	if allocs != 0 {
		t.Fatalf("Get allocates %.1f times, want 0", allocs)
	}
}
