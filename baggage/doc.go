// Package baggage makes W3C baggage, the OpenTelemetry way to carry request context (user,
// tenant, session) from service to service, typed, bounded and governed by policy. Everything
// lives in the go.opentelemetry.io/otel/baggage of the context, so the SDK's propagators,
// otelctx's middleware and transport, and any other OpenTelemetry code see the same members.
//
// # Typed members
//
// A Member is a key and a Codec. Set checks the value, percent-encodes it for the wire and
// enforces the limits; Get decodes it again:
//
//	var tenant = baggage.TenantID()
//
//	ctx, err := tenant.Set(ctx, "acme")
//	t, ok := tenant.Get(ctx)
//
// String, Int and Bool make members for plain values, NewMember for any type with a Codec of
// your own. UserID, TenantID, SessionID and RequestID are ready-made; they take identifiers only
// (IDCodec), so nothing that could break a header or a log line travels under their names.
//
// # Limits
//
// Set refuses, with ErrTooManyMembers or ErrTooLarge, a value that would take the baggage past
// MaxMembers (64) members or MaxBytes (8192) bytes as encoded; the context is left as it was, so
// a member is on the wire whole or not at all.
//
// Incoming baggage is bounded too. The SDK's propagation.Baggage already refuses a
// baggage-string of more than 8192 bytes, all fields together (so a thousand baggage headers
// cost no more than one full one) and keeps property metadata unparsed; past 64 members it drops
// members in map order, which is random. Propagator, a drop-in for it, reads at most MaxBytes of
// the combined fields, keeps the first 64 members whole and in order, builds at most
// MaxProperties properties, applies an allowlist while parsing, and reports what it dropped
// through a rate-limited error handler.
//
// # Trust boundaries
//
// Which members may enter: Allow, HTTP middleware with an allowlist per handler, placed inside
// the middleware that extracts headers; Restrict does the same for any context; WithAllow
// applies it while extracting, before any span starts. Which members may leave: Deny wraps a
// propagator so that a denylist (secrets, internal flags) is stripped before anything is
// injected, whatever the transport. A Filter (Keys or KeyFunc) expresses each policy; the zero
// Filter matches nothing.
//
// # Spans and log lines
//
// NewSpanProcessor copies the members a Filter chooses onto every span as attributes;
// Attributes and AppendAttributes return them for a log line. Wiring it all together:
//
//	allowIn := baggage.Keys(baggage.KeyTenantID, baggage.KeyUserID)
//	prop := baggage.Deny(propagation.NewCompositeTextMapPropagator(
//		propagation.TraceContext{}, baggage.NewPropagator()), baggage.Keys("auth.token"))
//	p, err := otelctx.Install(ctx,
//		otelctx.WithPropagators(prop),
//		otelctx.WithSpanProcessor(baggage.NewSpanProcessor(allowIn)))
//	…
//	handler = baggage.Allow(allowIn)(mux) // inside the extracting middleware
package baggage
