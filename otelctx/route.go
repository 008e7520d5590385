package otelctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
)

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
	if set := reqstore.FieldsOf(ctx); set != nil && set.Route != nil && route != "" {
		set.Route.Set(route)
	}
}

// Route returns the route of the request ctx belongs to, as far as it is known: SetRoute's,
// else the ServeMux pattern NewHandler learnt before the handler ran (the pattern of the
// ServeMux it wraps, directly or through trail.NewHandler, or of one outside it), else "".
func Route(ctx context.Context) string {
	if set := reqstore.FieldsOf(ctx); set != nil && set.Route != nil {
		return set.Route.Get()
	}
	return ""
}
