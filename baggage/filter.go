package baggage

import (
	"context"
	"slices"
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	"go.opentelemetry.io/otel/attribute"
	otelbaggage "go.opentelemetry.io/otel/baggage"
)

// smallFilter is the number of keys up to which Match scans a slice instead of a map: for the
// handful of keys a policy names, comparing strings beats hashing.
const smallFilter = 8

// Filter chooses baggage members by key. It is the one policy type of the package: the
// allowlist at a trust boundary (Allow, WithAllow), the denylist for outgoing calls (Deny) and
// the members copied onto spans and log lines (NewSpanProcessor, Attributes).
//
// The zero Filter matches no key, so a forgotten policy lets nothing in and strips nothing out.
// A Filter is immutable and safe for concurrent use.
type Filter struct {
	keys []string            // Keys: the keys in the order given, without duplicates
	set  map[string]struct{} // Keys with more than smallFilter keys
	fn   func(string) bool   // KeyFunc
}

// Keys returns a Filter matching exactly the given keys (case-sensitive, as W3C keys are).
// Members are visited in the order given, so log fields come out in a stable order. Empty keys
// and duplicates are ignored.
func Keys(keys ...string) Filter {
	f := Filter{keys: make([]string, 0, len(keys))}
	for _, k := range keys {
		if k != "" && !slices.Contains(f.keys, k) {
			f.keys = append(f.keys, k)
		}
	}
	if len(f.keys) > smallFilter {
		f.set = make(map[string]struct{}, len(f.keys))
		for _, k := range f.keys {
			f.set[k] = struct{}{}
		}
	}
	return f
}

// KeyFunc returns a Filter matching the keys for which fn reports true, such as a prefix test.
// Members chosen by a KeyFunc filter are visited in key order. fn must be safe for concurrent use;
// a nil fn matches nothing.
func KeyFunc(fn func(key string) bool) Filter {
	if fn == nil {
		return Filter{}
	}
	return Filter{fn: fn}
}

// Match reports whether f chooses key.
func (f Filter) Match(key string) bool {
	switch {
	case f.fn != nil:
		return f.fn(key)
	case f.set != nil:
		_, ok := f.set[key]
		return ok
	}
	for _, k := range f.keys {
		if k == key {
			return true
		}
	}
	return false
}

// Names returns a copy of the keys a Keys filter was made with, or nil for a KeyFunc filter.
// It is how a policy is handed to code that takes key names, such as zapbridge's
// WithBaggageMembers.
func (f Filter) Names() []string {
	if f.fn != nil || len(f.keys) == 0 {
		return nil
	}
	return slices.Clone(f.keys)
}

func (f Filter) empty() bool { return f.fn == nil && len(f.keys) == 0 }

// sortedMembers returns the members of b in key order.
func sortedMembers(b otelbaggage.Baggage) []otelbaggage.Member {
	ms := b.Members()
	slices.SortFunc(ms, func(a, b otelbaggage.Member) int { return strings.Compare(a.Key(), b.Key()) })
	return ms
}

// Restrict returns ctx with only the baggage members allow chooses: the allowlist of a trust
// boundary, for carriers other than HTTP (queues, gRPC metadata). An identifier member
// (KeyUserID, KeyTenantID, KeySessionID, KeyRequestID) whose value is not an identifier is not
// kept even when allowed. When every member is kept, or ctx has no baggage, it returns ctx itself.
func Restrict(ctx context.Context, allow Filter) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return w3cbaggage.Restrict(ctx, allow.keys, allow.fn)
}

// Without returns ctx with the baggage members deny chooses removed: the denylist for outgoing
// calls. When none is present it returns ctx itself.
func Without(ctx context.Context, deny Filter) context.Context {
	if ctx == nil {
		return context.Background()
	}
	b := otelbaggage.FromContext(ctx)
	if b.Len() == 0 || deny.empty() {
		return ctx
	}
	nb, removed := b, false
	if deny.fn == nil {
		for _, k := range deny.keys {
			if nb.Member(k).Key() != "" {
				nb, removed = nb.DeleteMember(k), true
			}
		}
	} else {
		for _, m := range b.Members() {
			if deny.fn(m.Key()) {
				nb, removed = nb.DeleteMember(m.Key()), true
			}
		}
	}
	if !removed {
		return ctx
	}
	if nb.Len() == 0 {
		return otelbaggage.ContextWithoutBaggage(ctx)
	}
	return otelbaggage.ContextWithBaggage(ctx, nb)
}

// Attributes returns the baggage members of ctx that f chooses as string attributes named by the
// member key, for span attributes or log fields. It returns nil when there are none.
//
// An identifier member (KeyUserID, KeyTenantID, KeySessionID, KeyRequestID) whose value is not an
// identifier is left out, so what its Get refuses never reaches a span or a log line. Other
// members are copied as they are: a codec of your own is applied by Get, not here, so choose
// members whose values you are content to see verbatim, or read them with Get.
func Attributes(ctx context.Context, f Filter) []attribute.KeyValue {
	return AppendAttributes(nil, ctx, f)
}

// AppendAttributes appends the baggage members of ctx that f chooses to dst, as Attributes
// does, and returns the extended slice. With a Keys filter and room in dst it allocates nothing,
// which makes it fit for every log line.
func AppendAttributes(dst []attribute.KeyValue, ctx context.Context, f Filter) []attribute.KeyValue {
	if ctx == nil || f.empty() {
		return dst
	}
	b := otelbaggage.FromContext(ctx)
	if b.Len() == 0 {
		return dst
	}
	if f.fn == nil {
		for _, k := range f.keys {
			if m := b.Member(k); m.Key() != "" && w3cbaggage.Holdable(m) {
				dst = append(dst, attribute.String(k, m.Value()))
			}
		}
		return dst
	}
	for _, m := range sortedMembers(b) {
		if f.fn(m.Key()) && w3cbaggage.Holdable(m) {
			dst = append(dst, attribute.String(m.Key(), m.Value()))
		}
	}
	return dst
}
