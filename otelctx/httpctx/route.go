package httpctx

import (
	"net/http"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel/trace"
)

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
	if p := w.route.P.Load(); p != nil {
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
		span.SetName(reqstore.ServerSpanName(method, route))
	}
}
