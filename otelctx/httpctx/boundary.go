package httpctx

import (
	"net/http"
)

// WithTrustedRequestID makes a handler at a trust boundary adopt a safe incoming x-request-id as
// the request ID, as an internal handler does, instead of making its own. Use it only when
// whatever sits in front of the handler (a load balancer, an API gateway) replaces the header
// on every request, so the value was not chosen by the caller.
func WithTrustedRequestID() HandlerOption {
	return handlerOption(func(c handlerConfig) handlerConfig { c.incoming.TrustRequestID = true; return c })
}

// isPublic reports whether r came from outside the handler's trust boundary.
func (c *handlerConfig) isPublic(r *http.Request) bool { return c.public != nil && c.public(r) }
