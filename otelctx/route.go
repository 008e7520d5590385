package otelctx

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// routeSlot is where SetRoute leaves a route for the server span of its request. It lives in the
// handler's responseWriter and is reached through the request store, so a request pays no
// allocation for it; p is atomic because a goroutine the handler started may call SetRoute
// while the handler reads it. The other fields are written before the handler runs and only
// read after.
type routeSlot struct {
	p atomic.Pointer[string]

	early  string     // the route known when the span started: a ServeMux pattern
	span   trace.Span // the server span, which SetRoute renames at once
	method string     // the span name's method, as normalizeMethod returns it
	rename bool       // false with WithSpanNameFormatter: its name is made when the handler returns
}

// SetRoute names the route of the request ctx belongs to, for routers other than
// http.ServeMux (chi, gorilla/mux, echo, httprouter…), whose patterns NewHandler cannot see.
// route is the matched template, low in cardinality, such as "/users/{id}", never the path
// itself. The server span is renamed "GET /users/{id}" at once, so that the live monitor
// (spans.Monitor) shows the route while the request runs; when the handler returns the span
// gets http.route (and, with WithSpanNameFormatter, the formatter's name, which can read
// Route). A later call wins; SetRoute wins over a ServeMux pattern. Outside a request handled
// by NewHandler it does nothing. Call it from the router's middleware once the route is
// matched, for chi:
//
//	r.Use(func(next http.Handler) http.Handler {
//		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			next.ServeHTTP(w, r)
//			otelctx.SetRoute(r.Context(), chi.RouteContext(r.Context()).RoutePattern())
//		})
//	})
//
// (chi knows the whole pattern only once its routers have matched, hence the call after next;
// a router that matches before dispatch can call SetRoute first.)
func SetRoute(ctx context.Context, route string) {
	if set := fieldsKey.Value(ctx); set != nil && set.route != nil && route != "" {
		route = boundedString(route)
		set.route.p.Store(&route)
		if sl := set.route; sl.rename && sl.span != nil {
			sl.span.SetName(serverSpanName(sl.method, route))
		}
	}
}

// Route returns the route of the request ctx belongs to, as far as it is known: SetRoute's,
// else the ServeMux pattern NewHandler learnt before the handler ran (the pattern of the
// ServeMux it wraps, directly or through trail.NewHandler, or of one outside it), else "".
func Route(ctx context.Context) string {
	if set := fieldsKey.Value(ctx); set != nil && set.route != nil {
		if p := set.route.p.Load(); p != nil {
			return *p
		}
		return set.route.early
	}
	return ""
}

// patternFinder is http.ServeMux's Handler method, which finds the handler and pattern for a
// request without serving it. Handlers that wrap a ServeMux may have it too (trail.NewHandler's
// does), so that NewHandler sees the pattern through them.
type patternFinder interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// muxRoute returns the route of the ServeMux pattern known before next runs: the pattern next
// will match when it is a ServeMux or another patternFinder (the mux then looks it up again
// as it serves, a lookup of a hundred nanoseconds or so), else the pattern a ServeMux outside
// NewHandler matched. Knowing it at the start names the span by its route from its first
// moment, for samplers and the live monitor.
func muxRoute(next http.Handler, r *http.Request) (route, pattern string) {
	pattern = r.Pattern
	if f, ok := next.(patternFinder); ok && r.RequestURI != "*" { // ServeMux answers "*" with 400
		if _, p := f.Handler(r); p != "" {
			pattern = p
		}
	}
	return routeOf(pattern), pattern
}

// lateRoute returns the route learnt while the handler ran: SetRoute's, else the pattern of a
// ServeMux inside next, else "".
func (w *responseWriter) lateRoute(r2 *http.Request) string {
	if p := w.route.p.Load(); p != nil {
		return *p
	}
	if r2.Pattern != "" {
		return routeOf(r2.Pattern)
	}
	return ""
}

// renameForRoute renames the server span for a route learnt while the handler ran.
func (h *handler) renameForRoute(span trace.Span, r2 *http.Request, method, route string) {
	if h.cfg.spanName != nil {
		span.SetName(h.cfg.spanName(r2))
	} else {
		span.SetName(serverSpanName(method, route))
	}
}
