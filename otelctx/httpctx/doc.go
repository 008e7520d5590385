// Package httpctx carries ctxtrail's request context across HTTP: NewHandler (server spans, the
// request ID, the request store, the trust boundary, HTTP metrics) and NewTransport (client
// spans and the outgoing headers). It needs the OpenTelemetry trace and metric APIs and the SDK's
// span status, never Install's exporters; give it the Provider that ctxtrail.Install made with
// WithProvider. The headers are read and written by the propagators of otelctx/propagators.
//
// # Propagation
//
// NewHandler and NewTransport carry a trace across HTTP with the propagator given by
// WithPropagator, or the global one (ctxtrail.Install sets propagators.New's by default: W3C
// traceparent, tracestate and baggage, and x-trace-id, x-span-id and x-request-id). The handler
// reads headers through a propagators.HeaderCarrier, bounded as W3C asks, in the one incoming
// step it shares with grpcctx's server. The request ID is a safe incoming x-request-id
// ([A-Za-z0-9._@:-], at most 128 bytes) or a new one; it is echoed on the response and
// forwarded by the transport, and every server and client span carries it as
// ctxtrail.request_id (otelctx.AttrRequestID), so a tag search finds the trace of a logged
// request.
//
// # Middleware
//
// The middleware stands alone rather than wrapping otelhttp: it needs its own carrier, request
// store and trust boundary, and a hot path short enough to measure. It starts no goroutine.
// WithTrustBoundary, for public endpoints, starts a new root linked to the incoming context (the
// link carries no tracestate) and lets in only the baggage members allowed by name. There the
// request runs under a request ID the service makes, which its logs, error reports, downstream
// calls and the response's x-request-id carry; the caller's safe x-request-id is kept on the
// server span and in the request store as otelctx.AttrCallerRequestID, so it can still be searched.
// WithTrustedRequestID adopts it instead, for a handler behind a proxy that sets the header.
// WithFilter leaves requests untraced (health checks; the monitor's page at otelctx.MonitorPath and the
// scrape endpoint at MetricsPath are left out by default). A ServeMux that NewHandler wraps, directly or through trail.NewHandler, is
// asked for the pattern it will match before it serves, so the server span is named by its
// route ("GET /users/{id}") from its start; routers other than http.ServeMux name the route
// with otelctx.SetRoute, which renames the span at once. Server spans carry the attributes otelhttp
// sets: server.address and server.port, client.address, network.peer.address and port, the
// body sizes. Those the semantic conventions name as relevant to sampling (method, path,
// scheme, server address and port, client.address, user agent) and http.route, when the route
// is known then, are given at span start, where samplers and OnStart processors see them; the
// connection's peer and protocol version come with the status at the end.
//
//	handler := httpctx.NewHandler(mux)                            // server spans, request ID, store
//	client := &http.Client{Transport: httpctx.NewTransport(nil)} // client spans, headers out
//
// # Bad input
//
// Everything read from the network is bounded and never panics: bad headers start a fresh
// trace and are reported through a propagators.WarnLimiter (one line per interval, the rest
// counted). Handlers given WithProvider(p) share p.WarnLimiter(), whose reports go where
// ctxtrail.WithErrorHandler says, whose counts p publishes as ctxtrail.http.bad_headers, and
// which p.Shutdown flushes.
package httpctx
