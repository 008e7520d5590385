package grpcctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"github.com/ctxtrail/ctxtrail/internal/providers"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans the handlers start.
const ScopeName = "github.com/ctxtrail/ctxtrail/otelctx/grpcctx"

// Option configures NewServerHandler, NewClientHandler and ServerOptions. Options that concern
// only the server side (the trust boundary, the warn limiter) are ignored by the client.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

type config struct {
	tp            trace.TracerProvider
	mp            metric.MeterProvider // nil: the global one
	prop          propagation.TextMapPropagator
	public        func(ctx context.Context, fullMethod string) bool
	warn          *propagators.WarnLimiter
	providerWarn  *propagators.WarnLimiter // WithProvider's, the default of warn
	incoming      wire.Server              // the incoming step: propagator, warnings, trust boundary
	messageEvents bool
	xTrace        bool // WithXTraceHeaders
	noKeepSignal  bool // WithoutKeepSignal (keep.go)
	fused         bool // prop is propagators.New's: the client writes its headers itself (inject.go)
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.tp == nil {
		// The global provider delegates to whatever Install sets later, so reading it once is
		// enough.
		c.tp = otel.GetTracerProvider()
	}
	if c.prop == nil {
		c.prop = otel.GetTextMapPropagator() // delegates too
	}
	if c.warn == nil {
		c.warn = c.providerWarn
	}
	if c.warn == nil {
		c.warn = propagators.NewWarnLimiter(propagators.DefaultWarnInterval, nil)
	}
	c.incoming.Prop, c.incoming.Warn = c.prop, c.warn
	c.fused = wire.IsFused(c.prop)
	return c
}

// WithTracerProvider sets the tracer provider spans are started with (the global one by
// default, which follows a later ctxtrail.Install).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c config) config { c.tp = tp; return c })
}

// WithPropagator sets the propagator that reads and writes metadata (the global one by
// default). Incoming metadata is read through a carrier that reads the trace headers exactly
// as propagators.HeaderCarrier does and never writes; outgoing metadata through a carrier whose
// Get returns what was Set.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c config) config { c.prop = p; return c })
}

// WithProvider takes the tracer provider, the meter provider, the propagator and the warn
// limiter (Provider.WarnLimiter, unless WithWarnLimiter names another) from a Provider made by
// ctxtrail.Install; handy with ctxtrail.WithoutGlobal. Warnings about bad incoming metadata then
// go where Install's WithErrorHandler says, and the Provider's Shutdown reports those its last
// interval swallowed, as for an HTTP handler given httpctx.WithProvider.
func WithProvider(p httpctx.Provider) Option {
	return optionFunc(func(c config) config {
		if p != nil {
			c.tp, c.prop, c.mp = providers.Tracers(p), p.Propagator(), providers.Meters(p)
			c.providerWarn = p.WarnLimiter()
		}
		return c
	})
}

// WithTrustBoundary marks the server as a public endpoint, as httpctx.WithTrustBoundary does
// for HTTP: the incoming trace context is never adopted (each RPC starts a new root trace whose
// server span links to the incoming span context, without its tracestate), tracestate is
// dropped, and incoming baggage is dropped except the members named in allowBaggage. The caller
// chose its x-request-id, so the RPC runs under a new request ID (echoed in the response); a
// safe caller ID is kept on the span and in the request store as otelctx.AttrCallerRequestID.
// WithTrustedRequestID adopts the caller's ID instead.
func WithTrustBoundary(allowBaggage ...string) Option {
	return WithTrustBoundaryFunc(func(context.Context, string) bool { return true }, allowBaggage...)
}

// WithTrustBoundaryFunc is WithTrustBoundary decided per RPC: fn reports whether the call (its
// context holds the peer, see google.golang.org/grpc/peer, and the incoming metadata) to
// fullMethod ("/package.Service/Method") came from outside the trust boundary.
func WithTrustBoundaryFunc(fn func(ctx context.Context, fullMethod string) bool, allowBaggage ...string) Option {
	allow := wire.AllowList(allowBaggage)
	return optionFunc(func(c config) config {
		c.public, c.incoming.Allow = fn, allow
		return c
	})
}

// WithTrustedRequestID makes a server at a trust boundary adopt a safe incoming x-request-id,
// as httpctx.WithTrustedRequestID does for HTTP: only when whatever sits in front of the server
// replaces the header on every call.
func WithTrustedRequestID() Option {
	return optionFunc(func(c config) config { c.incoming.TrustRequestID = true; return c })
}

// WithWarnLimiter sets where warnings about bad incoming metadata go. By default a handler given
// WithProvider(p) uses p.WarnLimiter(), which p.Shutdown flushes, and any other server handler
// has its own propagators.NewWarnLimiter(propagators.DefaultWarnInterval, nil), which reports through
// otel.Handle; share one with the HTTP middleware (httpctx.WithWarnLimiter) to rate-limit them
// together, and call its Flush when the process stops.
func WithWarnLimiter(l *propagators.WarnLimiter) Option {
	return optionFunc(func(c config) config { c.warn = l; return c })
}

// WithMessageEvents records a "message" span event for every message sent and received, with
// rpc.message.type (SENT or RECEIVED), rpc.message.id (1, 2, ... per direction) and
// rpc.message.uncompressed_size. Off by default: a long stream would fill the span's event
// limit and every event costs an allocation.
func WithMessageEvents() Option {
	return optionFunc(func(c config) config { c.messageEvents = true; return c })
}

// WithXTraceHeaders adds ctxtrail's x-trace-id and x-span-id headers to the gRPC wire, as the
// HTTP transport and middleware always have them. On a client handler the outgoing metadata
// then carries x-trace-id and x-span-id beside traceparent (when the propagator writes them, as
// Install's does); on ServerOptions the response header metadata echoes x-trace-id beside
// x-request-id.
//
// Off by default: on a gRPC hop both ends are ctxtrail or OpenTelemetry and read traceparent,
// and every metadata field costs grpc-go about five allocations at each end. Servers read
// x-trace-id and x-span-id either way (when no valid traceparent came), so a caller that sends
// only them still joins the trace. Turn it on for callees that read only the x-headers.
func WithXTraceHeaders() Option {
	return optionFunc(func(c config) config { c.xTrace = true; return c })
}
