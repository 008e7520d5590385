package httpctx

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// This file records the stable HTTP metrics of the semantic conventions, as otelhttp does:
// http.server.request.duration, http.server.active_requests, http.client.request.duration and,
// when WithBodySizeMetrics asks, the request and response body sizes. The attribute sets are
// built once per distinct (method, route, status, ...) and cached, so recording a request
// allocates nothing: the cost is two clock reads and the SDK's own aggregation.

// durationBuckets are the explicit bucket boundaries the HTTP semantic conventions advise for
// http.server.request.duration and http.client.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// maxCachedSets bounds each attribute-set cache. Routes come from the program's ServeMux patterns
// and methods are normalised, so real services stay far below it; past it, sets are still
// recorded correctly but built per request (and the SDK's own cardinality limit applies).
const maxCachedSets = 1024

// WithMeterProvider sets the meter provider the HTTP metrics are recorded with. By default the
// global one (otel.GetMeterProvider) is used, read on every request, so a provider installed
// later is used too. WithProvider sets it along with the tracer provider.
func WithMeterProvider(mp metric.MeterProvider) HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig { c.mp = mp; return c })
}

// WithBodySizeMetrics also records http.server.request.body.size and
// http.server.response.body.size (or the http.client.* pair for the transport), in bytes. They
// are opt-in in the conventions and here: a histogram per route and status is not free.
func WithBodySizeMetrics() HTTPOption {
	return sharedOption(func(c httpConfig) httpConfig { c.bodySizes = true; return c })
}

// httpMeters caches the instruments of the last meter provider seen, as tracerCache does for
// tracers.
type httpMeters struct {
	p  atomic.Pointer[httpInstruments]
	mu sync.Mutex // serialises building instruments

	own *ownWarnMetrics // a handler's own default WarnLimiter's registration (health.go), or nil
}

type httpInstruments struct {
	mp       metric.MeterProvider
	off      bool // a provider that records nothing (no-op, or Install's without a reader): skip the work
	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter // server only
	reqSize  metric.Int64Histogram     // nil unless WithBodySizeMetrics
	respSize metric.Int64Histogram

	serverSets setCache[serverKey]
	activeSets setCache[activeKey]
	clientSets setCache[clientKey]
}

func (c *httpConfig) meterProvider() metric.MeterProvider {
	if c.mp != nil {
		return c.mp
	}
	return otel.GetMeterProvider()
}

// instruments returns the instruments of the current meter provider, building them on first use.
// warn is the handler's WarnLimiter: when the handler made it (c.meters.own), it is registered
// with the provider's ctxtrail.http.bad_headers (health.go).
func (c *httpConfig) instruments(server bool, warn *propagators.WarnLimiter) *httpInstruments {
	mp := c.meterProvider()
	if in := c.meters.p.Load(); in != nil && in.mp == mp {
		return in
	}
	c.meters.mu.Lock()
	defer c.meters.mu.Unlock()
	if in := c.meters.p.Load(); in != nil && in.mp == mp {
		return in
	}
	in := &httpInstruments{mp: mp}
	if recordsNothing(mp) {
		in.off = true
		c.meters.p.Store(in)
		if c.meters.own != nil {
			c.meters.own.drop()
		}
		return in
	}
	m := mp.Meter(ScopeName)
	prefix, kind := "http.client.", "client"
	if server {
		prefix, kind = "http.server.", "server"
	}
	// Errors only ever come with a usable (no-op) instrument; the SDK reports them itself.
	in.duration, _ = m.Float64Histogram(prefix+"request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP "+kind+" requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if server {
		in.active, _ = m.Int64UpDownCounter("http.server.active_requests", metric.WithUnit("{request}"),
			metric.WithDescription("Number of active HTTP server requests."))
	}
	if c.bodySizes {
		in.reqSize, _ = m.Int64Histogram(prefix+"request.body.size", metric.WithUnit("By"),
			metric.WithDescription("Size of HTTP request bodies."))
		in.respSize, _ = m.Int64Histogram(prefix+"response.body.size", metric.WithUnit("By"),
			metric.WithDescription("Size of HTTP response bodies."))
	}
	// Only comparable providers are cached (every real one is); others rebuild per request.
	if reflect.TypeOf(mp).Comparable() {
		c.meters.p.Store(in)
		if c.meters.own != nil {
			c.meters.own.track(mp, warn)
		}
	}
	return in
}

// recordsNothing reports whether nothing recorded with mp is ever seen: a no-op provider, or one
// whose meters are no-ops, as the meters of a ctxtrail.Install Provider without a metric reader
// are (metrics off, the default). Recording is then skipped, which saves about 1 µs a request.
func recordsNothing(mp metric.MeterProvider) bool {
	if _, ok := mp.(noop.MeterProvider); ok {
		return true
	}
	_, ok := mp.Meter(ScopeName).(noop.Meter)
	return ok
}

// setCache maps a key to the measurement options of its attribute set. Reads are a map lookup
// in an immutable map behind an atomic pointer; a miss copies the map (rare, bounded).
type setCache[K comparable] struct {
	m  atomic.Pointer[map[K]*attrOpts]
	mu sync.Mutex
}

// attrOpts are the option slices passed to Record and Add: built once, because a variadic
// argument to an interface method escapes, so passing a fresh one would allocate per call.
type attrOpts struct {
	rec []metric.RecordOption
	add []metric.AddOption
}

// get returns the cached options for k, building them with build on a miss.
func (c *setCache[K]) get(k K, build func(K) []attribute.KeyValue) *attrOpts {
	if m := c.m.Load(); m != nil {
		if o, ok := (*m)[k]; ok {
			return o
		}
	}
	mo := metric.WithAttributeSet(attribute.NewSet(build(k)...))
	o := &attrOpts{rec: []metric.RecordOption{mo}, add: []metric.AddOption{mo}}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var n int
	if old != nil {
		n = len(*old)
	}
	if n >= maxCachedSets {
		return o
	}
	next := make(map[K]*attrOpts, n+1)
	if old != nil {
		for kk, v := range *old {
			next[kk] = v
		}
	}
	next[k] = o
	c.m.Store(&next)
	return o
}

type activeKey struct {
	method string
	https  bool
}

type serverKey struct {
	method, route, proto string
	status               int
	https, panicked      bool
}

type clientKey struct {
	method, host, errType string
	port, status          int
	https                 bool
}

func schemeOf(https bool) string {
	if https {
		return "https"
	}
	return "http"
}

func (k activeKey) attrs() []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(k.method),
		semconv.URLSchemeKey.String(schemeOf(k.https)),
	}
}

func (k serverKey) attrs() []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 7)
	a = append(a, semconv.HTTPRequestMethodKey.String(k.method), semconv.URLSchemeKey.String(schemeOf(k.https)))
	if k.route != "" {
		a = append(a, semconv.HTTPRouteKey.String(k.route))
	}
	if k.status > 0 {
		a = append(a, semconv.HTTPResponseStatusCodeKey.Int(k.status))
	}
	if k.proto != "" {
		a = append(a, semconv.NetworkProtocolNameKey.String("http"), semconv.NetworkProtocolVersionKey.String(k.proto))
	}
	switch {
	case k.panicked:
		a = append(a, semconv.ErrorTypeKey.String("panic"))
	case k.status >= 500:
		a = append(a, semconv.ErrorTypeKey.String(strconv.Itoa(k.status)))
	}
	return a
}

func (k clientKey) attrs() []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 7)
	a = append(a, semconv.HTTPRequestMethodKey.String(k.method), semconv.URLSchemeKey.String(schemeOf(k.https)))
	if k.host != "" {
		a = append(a, semconv.ServerAddressKey.String(k.host))
	}
	if k.port > 0 {
		a = append(a, semconv.ServerPortKey.Int(k.port))
	}
	if k.status > 0 {
		a = append(a, semconv.HTTPResponseStatusCodeKey.Int(k.status))
	}
	switch {
	case k.errType != "":
		a = append(a, semconv.ErrorTypeKey.String(k.errType))
	case k.status >= 400:
		a = append(a, semconv.ErrorTypeKey.String(strconv.Itoa(k.status)))
	}
	return a
}

// serverRecording is what serverStart hands to serverEnd; it lives on the stack.
type serverRecording struct {
	in     *httpInstruments
	start  time.Time
	active *attrOpts
	method string
	proto  string
	https  bool
}

// serverStart counts the request as active and notes when it started.
func (c *handlerConfig) serverStart(ctx context.Context, method string, r *http.Request) serverRecording {
	in := c.instruments(true, c.warn)
	if in.off {
		return serverRecording{}
	}
	rec := serverRecording{in: in, start: time.Now(), method: method, proto: protocolVersion(r), https: r.TLS != nil}
	rec.active = in.activeSets.get(activeKey{method: method, https: rec.https}, activeKey.attrs)
	in.active.Add(ctx, 1, rec.active.add...)
	return rec
}

// serverEnd records the request's duration (with ctx's span as the exemplar's trace) and
// body sizes, and counts it as no longer active. status 0 means unknown (a hijacked connection).
func (c *httpConfig) serverEnd(ctx context.Context, rec serverRecording, route string, status int, panicked bool, reqSize, respSize int64) {
	in := rec.in
	if in == nil {
		return
	}
	elapsed := time.Since(rec.start).Seconds()
	in.active.Add(ctx, -1, rec.active.add...)
	k := serverKey{method: rec.method, route: route, proto: rec.proto, status: status, https: rec.https, panicked: panicked}
	o := in.serverSets.get(k, serverKey.attrs)
	in.duration.Record(ctx, elapsed, o.rec...)
	if in.reqSize != nil {
		if reqSize >= 0 {
			in.reqSize.Record(ctx, reqSize, o.rec...)
		}
		in.respSize.Record(ctx, respSize, o.rec...)
	}
}

// clientRecording is what clientStart hands to clientEnd.
type clientRecording struct {
	in    *httpInstruments
	start time.Time
}

func (c *httpConfig) clientStart() clientRecording {
	in := c.instruments(false, nil)
	if in.off {
		return clientRecording{}
	}
	return clientRecording{in: in, start: time.Now()}
}

// clientEnd records a round trip that returned resp or err.
func (c *httpConfig) clientEnd(ctx context.Context, rec clientRecording, r *http.Request, method string, resp *http.Response, err error) {
	if rec.in == nil {
		return
	}
	elapsed := time.Since(rec.start).Seconds()
	k := clientKey{method: method}
	if u := r.URL; u != nil {
		k.host, k.https = u.Hostname(), u.Scheme == "https"
		k.port = portOf(u.Port(), u.Scheme)
		if len(k.host) > reqstore.MaxAttrLen {
			k.host = reqstore.Bound(k.host)
		}
	}
	if err != nil {
		k.errType = errorType(err)
	} else if resp != nil {
		k.status = resp.StatusCode
	}
	in := rec.in
	o := in.clientSets.get(k, func(k clientKey) []attribute.KeyValue {
		k.host = reqstore.Bound(k.host)
		return k.attrs()
	})
	in.duration.Record(ctx, elapsed, o.rec...)
	if in.reqSize != nil {
		if r.ContentLength >= 0 {
			in.reqSize.Record(ctx, r.ContentLength, o.rec...)
		}
		if resp != nil && resp.ContentLength >= 0 {
			in.respSize.Record(ctx, resp.ContentLength, o.rec...)
		}
	}
}
