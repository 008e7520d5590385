package httpctx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ctxtrail/ctxtrail/internal/attrbuf"
	"github.com/ctxtrail/ctxtrail/internal/providers"
	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans NewHandler and NewTransport start.
const ScopeName = "github.com/ctxtrail/ctxtrail/otelctx"

// HandlerOption configures NewHandler and Middleware.
type HandlerOption interface {
	applyHandler(handlerConfig) handlerConfig
}

// TransportOption configures NewTransport.
type TransportOption interface {
	applyTransport(transportConfig) transportConfig
}

// HTTPOption configures both the server middleware and the client transport.
type HTTPOption interface {
	HandlerOption
	TransportOption
}

// httpConfig is what the middleware and the transport share.
type httpConfig struct {
	tp       trace.TracerProvider
	prop     propagation.TextMapPropagator
	spanName func(*http.Request) string
	filters  []func(*http.Request) bool // filter.go
	tracers  *tracerCache

	mp        metric.MeterProvider // httpmetrics.go
	bodySizes bool
	meters    *httpMeters

	providerWarn *propagators.WarnLimiter // WithProvider's, the handler's default
}

type sharedOption func(httpConfig) httpConfig

func (o sharedOption) applyHandler(c handlerConfig) handlerConfig {
	c.httpConfig = o(c.httpConfig)
	return c
}

func (o sharedOption) applyTransport(c transportConfig) transportConfig {
	c.httpConfig = o(c.httpConfig)
	return c
}

type handlerOption func(handlerConfig) handlerConfig

func (o handlerOption) applyHandler(c handlerConfig) handlerConfig { return o(c) }

// WithTracerProvider sets the tracer provider spans are started with. By default the global
// one (otel.GetTracerProvider) is read on every request, so a provider installed later is used.
func WithTracerProvider(tp trace.TracerProvider) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig { c.tp = tp; return c })
}

// WithPropagator sets the propagator that extracts and injects headers. By default the global
// one (otel.GetTextMapPropagator) is read on every request. Use it with the composite Install
// builds (Provider.Propagator) or any other; NewHandler always reads headers through a
// propagators.HeaderCarrier.
func WithPropagator(p propagation.TextMapPropagator) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig { c.prop = p; return c })
}

// WithProvider takes the tracers, meters, propagator and bad-header WarnLimiter from the
// Provider that ctxtrail.Install made; handy with ctxtrail.WithoutGlobal.
func WithProvider(p Provider) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig {
		if p != nil {
			c.tp, c.prop, c.mp = providers.Tracers(p), p.Propagator(), providers.Meters(p)
			c.providerWarn = p.WarnLimiter()
		}
		return c
	})
}

// WithSpanNameFormatter sets how spans are named. The default follows the HTTP semantic
// conventions: "GET /users/{id}" when the route is known (a Go 1.22 ServeMux pattern), otherwise
// the method alone ("HTTP" for a method outside the standard set). For server spans whose route
// is learnt only while the handler runs, the formatter is called again afterwards.
func WithSpanNameFormatter(fn func(r *http.Request) string) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig { c.spanName = fn; return c })
}

// WithTrustBoundary marks the handler as a public endpoint: the trace context of an incoming
// request is never adopted. Each request starts a new root trace whose server span links to the
// incoming span context (when there is one; the link carries no tracestate), tracestate is
// dropped, and incoming baggage is dropped except the members named in allowBaggage. The caller
// chose its x-request-id, so the request runs under a new request ID, which the logs, error
// reports and downstream calls carry and the response's x-request-id echoes; a safe caller ID is
// kept on the server span and in the request store as AttrCallerRequestID, where it can be
// searched. WithTrustedRequestID adopts the caller's ID instead.
func WithTrustBoundary(allowBaggage ...string) HandlerOption {
	return WithTrustBoundaryFunc(func(*http.Request) bool { return true }, allowBaggage...)
}

// WithTrustBoundaryFunc is WithTrustBoundary decided per request: fn reports whether r came from
// outside the trust boundary (say, by listener, path or the absence of an mTLS peer).
func WithTrustBoundaryFunc(fn func(r *http.Request) bool, allowBaggage ...string) HandlerOption {
	allow := wire.AllowList(allowBaggage)
	return handlerOption(func(c handlerConfig) handlerConfig {
		c.public, c.incoming.Allow = fn, allow
		return c
	})
}

// WithWarnLimiter sets where warnings about bad incoming headers go. By default a handler given
// WithProvider(p) uses p.WarnLimiter(), whose reports go where Install's WithErrorHandler says,
// which p.Shutdown flushes and whose counts p publishes as ctxtrail.http.bad_headers; any other
// handler has its own limiter, propagators.NewWarnLimiter(propagators.DefaultWarnInterval, nil),
// which reports through otel.Handle (routed too when Install set the global error handler) and
// which the handler registers with the meter provider it records with, for as long as the
// handler lives. Share one limiter between handlers to rate-limit them together. A limiter given
// here is the caller's: its counts reach a meter provider only through l.RegisterMetrics(mp),
// whose Registration the caller holds (or through the Provider, for p.WarnLimiter()).
func WithWarnLimiter(l *propagators.WarnLimiter) HandlerOption {
	return handlerOption(func(c handlerConfig) handlerConfig { c.warn = l; return c })
}

type handlerConfig struct {
	httpConfig
	public   func(*http.Request) bool
	warn     *propagators.WarnLimiter
	incoming wire.Server // the incoming step: propagator, warnings, trust boundary
}

// tracerCache remembers the tracer of the last provider seen, so that a request does not pay
// for TracerProvider.Tracer (a lock and a map lookup in the SDK) while still honouring a global
// provider that changes.
type tracerCache struct{ p atomic.Pointer[cachedTracer] }

type cachedTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	copies bool // attrbuf.Copies(tracer): its spans may get pooled attribute buffers
}

// tracer returns the tracer of the current provider and whether it copies what it is given
// (attrbuf.Copies), so that its spans may be given pooled attribute buffers.
func (c *httpConfig) tracer() (trace.Tracer, bool) {
	tp := c.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	// Interface comparison panics only for two equal, non-comparable dynamic types, and only
	// comparable providers are ever stored.
	if ct := c.tracers.p.Load(); ct != nil && ct.tp == tp {
		return ct.tracer, ct.copies
	}
	tr := tp.Tracer(ScopeName)
	copies := attrbuf.Copies(tr)
	if reflect.TypeOf(tp).Comparable() {
		c.tracers.p.Store(&cachedTracer{tp: tp, tracer: tr, copies: copies})
	}
	return tr, copies
}

func (c *httpConfig) propagator() propagation.TextMapPropagator {
	if c.prop != nil {
		return c.prop
	}
	return otel.GetTextMapPropagator()
}

// Middleware returns NewHandler as a function, for routers that chain middleware.
func Middleware(opts ...HandlerOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return NewHandler(next, opts...) }
}

// NewHandler wraps next with ctxtrail's server middleware. For each request it
//
//  1. extracts the incoming context through the propagator and a HeaderCarrier (W3C
//     traceparent, tracestate and baggage, and the x-headers with the default composite),
//     counting bad headers through the WarnLimiter;
//  2. starts a server span: a child of the incoming span context, or at a trust boundary (see
//     WithTrustBoundary) a new root linked to it, or a new root when nothing valid came in. When
//     next is an http.ServeMux (or wraps one and passes on its Handler method, as
//     trail.NewHandler does), the pattern it will match is looked up first, so the span is
//     named "GET /users/{id}" and has http.route from its start (see Route and SetRoute);
//  3. puts the request store in the context: the request ID (a safe incoming x-request-id or a
//     new one, see WithRequestID) and the fields http.request.method and url.path (see
//     AddFields);
//  4. sets x-trace-id and x-request-id on the response before next runs, so they are there
//     whatever next writes;
//  5. after next returns, records http.response.status_code and http.route, marks 5xx
//     responses as errors, and ends the span. A panic in next is recorded and re-raised.
//
// It starts no goroutine. It stands alone rather than wrapping otelhttp: it needs its own
// carrier, request store and trust boundary, and the hot path stays short enough to measure.
func NewHandler(next http.Handler, opts ...HandlerOption) http.Handler {
	var c handlerConfig
	for _, o := range opts {
		if o != nil {
			c = o.applyHandler(c)
		}
	}
	c.tracers, c.meters = new(tracerCache), new(httpMeters)
	c.filters = append([]func(*http.Request) bool{notMonitorPage}, c.filters...)
	if c.warn == nil {
		c.warn = c.providerWarn
	}
	if c.warn == nil {
		c.warn = propagators.NewWarnLimiter(propagators.DefaultWarnInterval, nil)
		c.meters.own = newOwnWarnMetrics(c.meters) // the handler's own: it publishes its counts
	}
	c.incoming.Prop, c.incoming.Warn = c.prop, c.warn
	if next == nil {
		next = http.NotFoundHandler()
	}
	return &handler{next: next, cfg: c}
}

type handler struct {
	next http.Handler
	cfg  handlerConfig
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.traced(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	s := new(serverRequest) // serverreq.go: the request's one allocation of ctxtrail's own
	tracer, copies := h.cfg.tracer()
	public := h.cfg.isPublic(r)
	// The request ID goes in s; the remote parent goes in the context, as the trace package keeps
	// it, for every tracer.
	in := h.cfg.incoming.Extract(r.Context(), propagators.HeaderCarrier(r.Header), wire.HeaderFields(r.Header),
		public, false)
	s.Context = in.Context

	b := attrbuf.ForCopies(copies) // pooled when the tracer copies; back after the span ends
	method, methodKnown := normalizeMethod(r.Method)
	path := reqstore.Bound(r.URL.Path)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := append(b.Attrs(),
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPathKey.String(path),
		semconv.URLSchemeKey.String(scheme),
	)
	if !methodKnown {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginalKey.String(reqstore.Bound(r.Method)))
	}
	if host := hostOnly(r.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddressKey.String(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginalKey.String(reqstore.Bound(ua)))
	}
	var peer peerAddr
	peer.host, peer.port = splitHostPort(r.RemoteAddr)
	attrs = appendPeerAttrs(attrs, r, r.TLS != nil, peer)
	route, pattern := muxRoute(h.next, r) // route.go
	if route != "" {
		attrs = append(attrs, semconv.HTTPRouteKey.String(route))
	}

	spanOpts := append(b.Start[:0], serverKindOption)
	if public {
		spanOpts = append(spanOpts, newRootOption)
		if in.Linked {
			spanOpts = append(spanOpts, trace.WithLinks(in.Link))
		}
	}

	// The request ID is settled and the store filled before the span starts: processors may keep
	// the parent context (s) and read it from anywhere.
	id, caller := in.RequestID, in.Caller
	if caller.Valid() {
		attrs = append(attrs, caller)
	}
	// The store's first version: http.request.method, url.path and, at a boundary, the caller's
	// request ID, on top of whatever an outer layer added.
	storeKVs := [...]attribute.KeyValue{caller, attrs[0], attrs[1]} // an empty caller is skipped
	s.rw.route.Early = route
	s.fields.Fill(reqstore.FieldsOf(s.Context), &s.rw.route, storeKVs[:])
	s.id = id // never empty: from here on s answers the store and request-ID keys itself

	var name string
	if h.cfg.spanName != nil {
		rn := r
		if pattern != r.Pattern { // the formatter sees the pattern the mux is about to match
			withPattern := *r
			withPattern.Pattern = pattern
			rn = &withPattern
		}
		name = h.cfg.spanName(rn)
	} else {
		name = reqstore.ServerSpanName(method, route)
	}
	spanOpts = append(spanOpts, b.WithAttributes(attrs))
	ctx, span := tracer.Start(s, name, spanOpts...)
	s.rw.route.Span, s.rw.route.Method, s.rw.route.Rename = span, method, h.cfg.spanName == nil
	mrec := h.cfg.serverStart(ctx, method, r) // httpmetrics.go

	s.setEcho(w.Header(), span.SpanContext().TraceID())
	s.rw.ResponseWriter = w
	rw := &s.rw
	rw.keep.allowed = !public // keep.go: a public caller is never told

	r2 := r.WithContext(ctx)
	rw.countBody(r2)
	defer func() {
		if p := recover(); p != nil {
			span.SetStatus(codes.Error, "panic")
			span.SetAttributes(append(appendConnAttrs(b.Attrs(), r, peer),
				semconv.ErrorTypeKey.String("panic"), attribute.String(otelctx.AttrRequestID, id))...)
			if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
				span.AddEvent("exception", trace.WithAttributes(
					semconv.ExceptionTypeKey.String(fmt.Sprintf("%T", p)),
					semconv.ExceptionMessageKey.String(reqstore.Bound(fmt.Sprint(p))),
				))
			}
			span.End()
			h.cfg.serverEnd(ctx, mrec, route, 0, true, rw.reqBody.n, rw.written)
			panic(p) // b is left to the collector
		}
	}()
	h.next.ServeHTTP(rw, r2)
	if rw.status == 0 && !rw.hijacked {
		rw.bodyStarts() // nothing written: net/http sends 200 once we return, with the keep signal
	}

	status := rw.finalStatus()
	late := rw.lateRoute(r2) // otelctx.SetRoute, or a ServeMux inside next
	if span.IsRecording() {  // an unsampled span records nothing: only the metrics need route and status
		end := rw.appendEndAttrs(appendConnAttrs(b.Attrs(), r, peer), id) // the span copied attrs at its start
		if late != "" && late != route {
			end = append(end, semconv.HTTPRouteKey.String(late))
			h.renameForRoute(span, r2, method, late)
		}
		if status != 0 {
			end = append(end, semconv.HTTPResponseStatusCodeKey.Int(status))
			if status >= 500 {
				setErrorStatus(span, "")
				end = append(end, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			}
		}
		span.SetAttributes(end...)
	}
	if late != "" {
		route = late
	}
	span.End()
	b.Release()
	h.cfg.serverEnd(ctx, mrec, route, status, false, rw.reqBody.n, rw.written)
}

// finalStatus returns the status the client got (ServeHTTP has set net/http's 200 for a
// handler that wrote nothing), or 0 for a hijacked connection.
func (w *responseWriter) finalStatus() int {
	if w.hijacked {
		return 0
	}
	return w.status
}

// normalizeMethod returns the method as the HTTP semantic conventions record it: one of the
// standard methods, or "_OTHER" (with ok false) so that arbitrary tokens never become span names.
func normalizeMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m, true
	case "":
		return http.MethodGet, true // net/http: an empty client method means GET
	}
	return "_OTHER", false
}

// routeOf turns a ServeMux pattern ("[METHOD ][HOST]/path") into the http.route ("/path").
func routeOf(pattern string) string {
	if pattern == "" {
		return ""
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return reqstore.Bound(pattern[i:])
	}
	return ""
}

func protocolVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 3:
		return "3"
	}
	return ""
}

// hostOnly returns the host of a Host header or URL host, without the port.
func hostOnly(hostport string) string {
	if hostport == "" {
		return ""
	}
	if strings.IndexByte(hostport, ':') < 0 {
		return reqstore.Bound(hostport) // no port: SplitHostPort would allocate its error
	}
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return reqstore.Bound(host)
	}
	return reqstore.Bound(hostport)
}

// responseWriter records the status the handler sends. It forwards Flush, Hijack and ReadFrom
// and unwraps for http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
	written  int64              // response body bytes, for http.response.body.size
	reqBody  countingBody       // serverattrs.go
	route    reqstore.RouteSlot // route.go
	keep     keepResponse       // keep.go
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code // 1xx other than 101 are interim; the final status comes later
		w.keepSignal(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.bodyStarts()
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// WriteString keeps the underlying writer's string path, so io.WriteString through the wrapper
// does not copy the string into a new byte slice.
func (w *responseWriter) WriteString(s string) (int, error) {
	w.bodyStarts()
	n, err := io.WriteString(w.ResponseWriter, s)
	w.written += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile path of the underlying writer.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.bodyStarts()
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.written += n
	return n, err
}

// bodyStarts notes the 200 net/http sends when the body, or a flush, comes before WriteHeader.
func (w *responseWriter) bodyStarts() {
	if w.status == 0 {
		w.status = http.StatusOK
		w.keepSignal(http.StatusOK) // keep.go
	}
}

// Flush sends buffered data to the client when the underlying writer can.
func (w *responseWriter) Flush() {
	w.bodyStarts()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection when the underlying writer allows it.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	} else if errors.Is(err, http.ErrNotSupported) {
		err = fmt.Errorf("otelctx: hijack: %w", err)
	}
	return conn, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// setErrorStatus marks span as failed unless it already is: the SDK replaces an error's
// description on every SetStatus, and the handler (or error capture inside it) usually said
// more about the failure than the status code does.
func setErrorStatus(span trace.Span, description string) {
	if ro, ok := span.(interface{ Status() sdktrace.Status }); ok && ro.Status().Code == codes.Error {
		return
	}
	span.SetStatus(codes.Error, description)
}
