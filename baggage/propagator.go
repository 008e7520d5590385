package baggage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

const (
	headerName      = "baggage"
	canonicalHeader = "Baggage" // the http.Header key net/http stores the baggage fields under
)

// Propagator is a W3C Baggage propagator, a drop-in for the SDK's propagation.Baggage that
// bounds what it accepts and what it sends:
//
//   - Extract combines every baggage field of the carrier (W3C allows several; the carrier must
//     implement propagation.ValuesGetter, as propagation.HeaderCarrier does, or only Get's
//     value is read), reads at most MaxBytes of them and keeps at most MaxMembers members and
//     MaxProperties properties, whole and in order: members past a limit are dropped, never
//     cut, and malformed members and identifier members whose value is not an identifier are
//     skipped (the reading propagators.HeaderCarrier shares; see the package doc). otelctx's
//     HeaderCarrier is neither: its Get returns the fields already combined by that reading. With
//     WithAllow it builds only the members the allowlist chooses; the others are checked and never
//     copied.
//   - Inject writes the context's baggage; if it is over the limits (possible when code builds
//     baggage with the SDK's SetMember), whole members are dropped in key order until it fits.
//
// Whatever was dropped is counted (Warnings) and reported through the error handler, at most
// once per interval. A request with no baggage header costs a map lookup and allocates nothing.
type Propagator struct {
	allow    Filter
	hasAllow bool
	warn     warner
}

var _ propagation.TextMapPropagator = (*Propagator)(nil)

// Option configures NewPropagator.
type Option interface{ apply(config) config }

type config struct {
	allow    Filter
	hasAllow bool
	handler  func(error)
	interval time.Duration
	now      func() time.Time
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithAllow makes Extract keep only the members allow chooses: the allowlist of a trust
// boundary, applied while parsing, so that nothing outside it reaches the context, the server
// span or a log line. Without it every valid member is kept.
func WithAllow(allow Filter) Option {
	return optionFunc(func(c config) config { c.allow, c.hasAllow = allow, true; return c })
}

// WithErrorHandler sets where reports of dropped baggage go. By default they go to otel.Handle,
// the OpenTelemetry global error handler. h is called on the request's goroutine and must not
// block; a nil h keeps the default.
func WithErrorHandler(h func(error)) Option {
	return optionFunc(func(c config) config { c.handler = h; return c })
}

// WithWarnInterval sets how often, at most, dropped baggage is reported (DefaultWarnInterval by
// default); the rest is counted and the next report says how many were swallowed. A zero or
// negative d keeps the default.
func WithWarnInterval(d time.Duration) Option {
	return optionFunc(func(c config) config { c.interval = d; return c })
}

// withClock is for tests.
func withClock(now func() time.Time) Option {
	return optionFunc(func(c config) config { c.now = now; return c })
}

// NewPropagator returns a Propagator configured by opts.
func NewPropagator(opts ...Option) *Propagator {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.handler == nil {
		c.handler = otel.Handle
	}
	if c.interval <= 0 {
		c.interval = DefaultWarnInterval
	}
	if c.now == nil {
		c.now = time.Now
	}
	return &Propagator{
		allow:    c.allow,
		hasAllow: c.hasAllow,
		warn:     warner{sink: c.handler, interval: c.interval, now: c.now},
	}
}

// Warnings returns how many baggage strings, incoming or outgoing, had members dropped, reported
// or not.
func (p *Propagator) Warnings() uint64 { return p.warn.total.Load() }

// Fields returns the header Inject sets: "baggage".
func (p *Propagator) Fields() []string { return []string{headerName} }

// Inject writes the baggage of ctx into carrier, within the limits.
func (p *Propagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	if ctx == nil || carrier == nil {
		return
	}
	b := otelbaggage.FromContext(ctx)
	if b.Len() == 0 {
		return
	}
	s, dropped := encode(b)
	if dropped > 0 {
		p.warn.warn(fmt.Errorf("outgoing baggage over the limits (%d members, %d bytes): %d members dropped",
			MaxMembers, MaxBytes, dropped))
	}
	if s != "" {
		carrier.Set(headerName, s)
	}
}

// Extract returns a copy of ctx holding the baggage the carrier brings, within the limits and
// the allowlist. When the carrier brings none that is kept, ctx is returned as it is.
func (p *Propagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	var (
		fields []string
		one    [1]string
	)
	switch c := carrier.(type) {
	case nil:
		return ctx
	case propagation.HeaderCarrier:
		// Index the header directly: http.Header.Values would canonicalise "baggage" and
		// allocate on every request.
		fields = c[canonicalHeader]
	case propagation.ValuesGetter:
		fields = c.Values(headerName)
	default:
		if one[0] = carrier.Get(headerName); one[0] != "" {
			fields = one[:]
		}
	}
	if len(fields) == 0 {
		return ctx
	}
	var allow *Filter
	if p.hasAllow {
		allow = &p.allow
	}
	res := parse(fields, allow)
	if err := res.err(); err != nil {
		p.warn.warn(fmt.Errorf("incoming baggage: %w", err))
	}
	if len(res.members) == 0 {
		return ctx
	}
	// parse keeps within the limits, so New has nothing to drop.
	b, _ := otelbaggage.New(res.members...)
	return otelbaggage.ContextWithBaggage(ctx, b)
}

// encode returns the baggage-string for b and how many members it had to drop to stay within
// MaxMembers and MaxBytes. Members whose key is not a W3C token (possible through the SDK's
// NewMemberRaw) cannot be written and are left out, as the SDK leaves them out.
func encode(b otelbaggage.Baggage) (string, int) {
	if b.Len() <= MaxMembers {
		if s := b.String(); len(s) <= MaxBytes {
			return s, 0
		}
	}
	ms := b.Members()
	slices.SortFunc(ms, func(a, b otelbaggage.Member) int { return strings.Compare(a.Key(), b.Key()) })
	var (
		sb      strings.Builder
		kept    int
		dropped int
	)
	for _, m := range ms {
		s := m.String()
		if s == "" {
			continue
		}
		n := len(s)
		if kept > 0 {
			n++
		}
		if kept == MaxMembers || sb.Len()+n > MaxBytes {
			dropped++
			continue
		}
		if kept > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(s)
		kept++
	}
	return sb.String(), dropped
}

// Deny wraps inner so that the baggage members deny chooses never leave the process: Inject
// removes them from the context before inner writes anything. Extract and Fields are inner's.
//
// Deny wraps a propagator rather than an http.RoundTripper because the propagator is the one
// place every outgoing carrier goes through: HTTP clients, gRPC, message producers, and every
// baggage-carrying propagator of a composite (W3C, Jaeger's uberctx-, OpenTracing's ot-baggage-)
// at once. A transport would guard only the HTTP clients built with it, and a secret would leak
// through the first client that was not. Set the wrapped propagator globally (ctxtrail.Install
// with WithPropagation) and no code path can forget the denylist.
func Deny(inner propagation.TextMapPropagator, deny Filter) propagation.TextMapPropagator {
	if inner == nil {
		inner = propagation.NewCompositeTextMapPropagator()
	}
	return denyPropagator{inner: inner, deny: deny}
}

type denyPropagator struct {
	inner propagation.TextMapPropagator
	deny  Filter
}

func (d denyPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	d.inner.Inject(Without(ctx, d.deny), carrier)
}

func (d denyPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return d.inner.Extract(ctx, carrier)
}

func (d denyPropagator) Fields() []string { return d.inner.Fields() }
