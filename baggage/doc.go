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
// Incoming baggage is bounded too, by one rule wherever it enters: the first MaxMembers (64)
// list-members within the first MaxBytes (8192) bytes of the combined baggage fields are read,
// and of those the well-formed ones are kept, whole and in order; members past a limit are
// dropped, never cut, and malformed ones are skipped (they count among the 64). Propagator, a
// drop-in for the SDK's propagation.Baggage, applies it and also builds at most MaxProperties
// properties, applies an allowlist while parsing, and reports what it dropped through a
// rate-limited error handler. otelctx's HeaderCarrier applies the same reading (the code is
// shared), so behind httpctx.NewHandler the SDK's propagator and this one keep the same members.
// (The SDK's propagator on its own refuses a baggage-string over 8192 bytes whole and, past 64
// members, drops members in map order, which is random.)
//
// # Identifier members
//
// The values of the ready-made identifier members (KeyUserID, KeyTenantID, KeySessionID,
// KeyRequestID) are held to IDCodec's rule wherever baggage is read or copied: the incoming
// reading skips a member whose decoded value is not an identifier, and Attributes,
// NewSpanProcessor, Restrict and zapbridge.WithBaggageMembers leave such a value out when it
// entered the context some other way. A refused value is dropped, not marked: what Get would
// report as absent is absent everywhere. Members of your own are copied as they are; their codec
// is applied by Get.
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
//	p, err := ctxtrail.Install(ctx,
//		ctxtrail.WithPropagation(prop),
//		ctxtrail.WithSpanProcessor(baggage.NewSpanProcessor(allowIn)))
//	…
//	handler = baggage.Allow(allowIn)(mux) // inside the extracting middleware
package baggage
