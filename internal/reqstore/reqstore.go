// Package reqstore is the request store's machinery, shared by otelctx (its public API:
// AddFields, FieldsFrom, RequestID, SetRoute, Route) and otelctx/httpctx, whose request node
// answers the store's keys from its own fields instead of wrapping the context three more times.
// Nothing here is for users: otelctx is.
package reqstore

import (
	"context"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// MaxFields is how many distinct keys the request store holds (otelctx.MaxFields).
const MaxFields = 64

// MaxAttrLen bounds the request-derived strings (path, user agent, host, URL, route) recorded on
// spans and in the request store; longer values are cut at a UTF-8 boundary.
const MaxAttrLen = 1024

// KeyID is the context key behind an otelctx.Key. Keys compare by the pointer, so two Keys never
// collide, and the request node can tell the store's keys from any other.
type KeyID struct{ Name string }

// The store's own keys.
var (
	FieldsKey    = &KeyID{Name: "ctxtrail.fields"}
	RequestIDKey = &KeyID{Name: "ctxtrail.request_id"} // holds a *string
)

// Set is one immutable version of the request store. Each AddFields makes a new one, so a
// version already handed to another goroutine never changes under it.
type Set struct {
	KVs     []attribute.KeyValue
	Dropped int
	small   [4]attribute.KeyValue // backs KVs for small stores: one allocation instead of two
	Route   *RouteSlot            // the server request's, for SetRoute; inherited by every version
}

// FieldsOf returns ctx's version of the store, or nil.
func FieldsOf(ctx context.Context) *Set {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(FieldsKey).(*Set)
	return s
}

// WithFields returns ctx with s as its version of the store.
func WithFields(ctx context.Context, s *Set) context.Context {
	return context.WithValue(ctx, FieldsKey, s)
}

// Add returns a copy of ctx whose store holds kvs on top of ctx's, with route as the new
// version's route slot (nil keeps the old one).
func Add(ctx context.Context, route *RouteSlot, kvs []attribute.KeyValue) context.Context {
	next := new(Set)
	next.Fill(FieldsOf(ctx), route, kvs)
	return WithFields(ctx, next)
}

// Fill makes next the version of the store that holds kvs on top of old (nil for none). A nil
// route keeps old's route slot.
func (next *Set) Fill(old *Set, route *RouteSlot, kvs []attribute.KeyValue) {
	next.Route = route
	var have int
	if old != nil {
		have = len(old.KVs)
		next.Dropped = old.Dropped
		if route == nil {
			next.Route = old.Route
		}
	}
	if have+len(kvs) <= len(next.small) {
		next.KVs = next.small[:have]
	} else {
		next.KVs = make([]attribute.KeyValue, have, have+len(kvs))
	}
	if old != nil {
		copy(next.KVs, old.KVs)
	}
outer:
	for _, kv := range kvs {
		if !kv.Valid() {
			continue
		}
		for i := range next.KVs {
			if next.KVs[i].Key == kv.Key {
				next.KVs[i] = kv
				continue outer
			}
		}
		if len(next.KVs) >= MaxFields {
			next.Dropped++
			continue
		}
		next.KVs = append(next.KVs, kv)
	}
}

// RequestID returns the request ID in ctx, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if p, _ := ctx.Value(RequestIDKey).(*string); p != nil {
		return *p
	}
	return ""
}

// RouteSlot is where a server request's route lives once known: set by the HTTP handler from a
// ServeMux pattern at start, or by otelctx.SetRoute for other routers.
type RouteSlot struct {
	P atomic.Pointer[string]

	Early  string     // the route known when the span started: a ServeMux pattern
	Span   trace.Span // the server span, which SetRoute renames at once
	Method string     // the span name's method, as the handler normalised it
	Rename bool       // false with a span name formatter: its name is made when the handler returns
}

// Set records route and, with the default span names, renames the server span at once.
func (sl *RouteSlot) Set(route string) {
	route = Bound(route)
	sl.P.Store(&route)
	if sl.Rename && sl.Span != nil {
		sl.Span.SetName(ServerSpanName(sl.Method, route))
	}
}

// Get returns the route set, or the one known at the span's start.
func (sl *RouteSlot) Get() string {
	if p := sl.P.Load(); p != nil {
		return *p
	}
	return sl.Early
}

// ServerSpanName names a server span after the HTTP conventions: "GET /users/{id}" when the
// route is known, the method alone otherwise ("HTTP" for a method outside the standard set).
func ServerSpanName(method, route string) string {
	if method == "_OTHER" {
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	return method + " " + route
}

// Bound cuts s to MaxAttrLen bytes and replaces invalid UTF-8.
func Bound(s string) string {
	if len(s) > MaxAttrLen {
		s = s[:MaxAttrLen] // a rune cut in two becomes U+FFFD below
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
