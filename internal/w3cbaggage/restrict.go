package w3cbaggage

import (
	"context"

	"go.opentelemetry.io/otel/baggage"
)

// Restrict is the trust boundary's baggage rule, the one implementation behind
// baggage.Restrict and the HTTP and gRPC servers' WithTrustBoundary: it returns ctx with only
// the baggage members named in keys (which must hold no duplicates), or, when match is not nil,
// those whose key match reports true for. An identifier member (see IDKey) whose value is not an
// identifier is never kept. When every member is kept, or ctx has no baggage, it returns ctx
// itself; when none is, ctx without baggage.
func Restrict(ctx context.Context, keys []string, match func(string) bool) context.Context {
	b := baggage.FromContext(ctx)
	if b.Len() == 0 {
		return ctx
	}
	if match == nil {
		// Count first: the common cases, everything or nothing allowed, then cost no allocation.
		switch present(b, keys) {
		case b.Len():
			return ctx
		case 0:
			return baggage.ContextWithoutBaggage(ctx)
		}
	}
	kept := make([]baggage.Member, 0, b.Len())
	if match == nil {
		for _, k := range keys {
			if m := b.Member(k); m.Key() != "" && Holdable(m) {
				kept = append(kept, m)
			}
		}
	} else {
		for _, m := range b.Members() {
			if match(m.Key()) && Holdable(m) {
				kept = append(kept, m)
			}
		}
	}
	switch len(kept) {
	case 0:
		return baggage.ContextWithoutBaggage(ctx)
	case b.Len():
		return ctx
	}
	// A subset of b is within the limits whenever b is; a b built past them with SetMember is
	// cut by New here and by the propagator's Inject on the way out.
	nb, _ := baggage.New(kept...)
	return baggage.ContextWithBaggage(ctx, nb)
}

// present counts the members of b that keys names and Holdable reports true for, without
// allocating.
func present(b baggage.Baggage, keys []string) int {
	n := 0
	for _, k := range keys {
		if m := b.Member(k); m.Key() != "" && Holdable(m) {
			n++
		}
	}
	return n
}

// Holdable reports whether m's value may travel and be copied under its key: any value but for
// the identifier members, whose value must be an identifier, however it entered the context.
func Holdable(m baggage.Member) bool { return ValidValue(m.Key(), m.Value()) }
