package otelctx

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// routeSlot is where SetRoute leaves a route for the server span of its request. It lives in the
// handler's responseWriter and is reached through the request store, so a request pays no
// allocation for it; it is atomic because a goroutine the handler started may call SetRoute
// while the handler reads it.
type routeSlot struct{ p atomic.Pointer[string] }

// SetRoute names the route of the request ctx belongs to, for routers other than
// http.ServeMux (chi, gorilla/mux, echo, httprouter…), whose patterns NewHandler cannot see.
// route is the matched template, low in cardinality, such as "/users/{id}", never the path
// itself. When the handler returns, its server span is renamed "GET /users/{id}" (or what
// WithSpanNameFormatter makes of it, which can read Route) and gets http.route. A later call
// wins; SetRoute wins over a ServeMux pattern. Outside a request handled by NewHandler it does
// nothing. Call it from the router's middleware once the route is matched, for chi:
//
//	r.Use(func(next http.Handler) http.Handler {
//		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			next.ServeHTTP(w, r)
//			otelctx.SetRoute(r.Context(), chi.RouteContext(r.Context()).RoutePattern())
//		})
//	})
func SetRoute(ctx context.Context, route string) {
	if set := fieldsKey.Value(ctx); set != nil && set.route != nil && route != "" {
		route = boundedString(route)
		set.route.p.Store(&route)
	}
}

// Route returns the route SetRoute recorded for the request ctx belongs to, or "".
func Route(ctx context.Context) string {
	if set := fieldsKey.Value(ctx); set != nil && set.route != nil {
		if p := set.route.p.Load(); p != nil {
			return *p
		}
	}
	return ""
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
