package baggage

import "net/http"

// Allow returns HTTP middleware that keeps, of the baggage already extracted into the request's
// context, only the members allow chooses: the allowlist of a trust boundary, one per handler
// (a public listener may let in tenant.id alone, an internal one more).
//
// Put it inside the middleware that extracts the headers (otelctx's, otelhttp's), so that it
// sees what they extracted. Spans those outer middlewares start are started before it runs; to
// keep untrusted members off the server span as well, extract with NewPropagator(WithAllow(...))
// or use the extracting middleware's own trust-boundary option.
//
// A request without baggage passes through untouched and costs nothing; so does one whose
// members are all allowed. A nil next answers 404, like an empty http.ServeMux.
func Allow(allow Filter) func(next http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if next == nil {
			next = http.NotFoundHandler()
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if kept := Restrict(ctx, allow); kept != ctx {
				r = r.WithContext(kept)
			}
			next.ServeHTTP(w, r)
		})
	}
}
