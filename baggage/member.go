package baggage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	otelbaggage "go.opentelemetry.io/otel/baggage"
)

// Keys of the ready-made members. user.id and session.id are the OpenTelemetry semantic
// convention attribute names, so the span processor copies them onto spans under the names
// backends already know.
const (
	KeyUserID    = "user.id"
	KeyTenantID  = "tenant.id"
	KeySessionID = "session.id"
	KeyRequestID = "request.id"
)

// Codec turns a T into the text of a baggage value and back. Encode refuses values that must
// not travel (its error is wrapped with ErrInvalidValue); Decode refuses text it cannot read,
// which Get then reports as absent. Percent-encoding is not the codec's job: any UTF-8 text is
// encoded for the wire and decoded again by the propagator.
type Codec[T any] interface {
	Encode(v T) (string, error)
	Decode(s string) (T, error)
}

// Member is a typed baggage member: a key and a codec. Its values live in the
// go.opentelemetry.io/otel/baggage of the context, so every OpenTelemetry baggage propagator
// carries them and code that knows nothing of ctxtrail can read them.
//
// The zero Member is not usable: Set returns an error and Get reports false. Members are
// values; keep them in package-level variables or return them from functions.
type Member[T any] struct {
	key   string
	codec Codec[T]
	err   error // why the member cannot be used, or nil
}

// NewMember returns a Member for key, whose values codec encodes. A key that is not a W3C token
// or a nil codec makes a member whose Err, and every Set, reports why.
func NewMember[T any](key string, codec Codec[T]) Member[T] {
	m := Member[T]{key: key, codec: codec}
	switch {
	case !validKey(key):
		m.err = fmt.Errorf("%w: %q", ErrInvalidKey, key)
	case codec == nil:
		m.err = fmt.Errorf("baggage: member %q has no codec", key)
	}
	return m
}

// String returns a Member for key with StringCodec: any UTF-8 text.
func String(key string) Member[string] { return NewMember[string](key, StringCodec{}) }

// Int returns a Member for key with IntCodec: a decimal int64.
func Int(key string) Member[int64] { return NewMember[int64](key, IntCodec{}) }

// Bool returns a Member for key with BoolCodec.
func Bool(key string) Member[bool] { return NewMember[bool](key, BoolCodec{}) }

// UserID returns the "user.id" member. Its values are identifiers (IDCodec), so a user ID never
// carries spaces, quotes or control bytes onto a span or a log line: incoming baggage, the span
// processor, Attributes and zapbridge all drop a user.id value that is not an identifier (see the
// package doc, Identifier members). Baggage comes from the network: never use it to authorise
// anything.
func UserID() Member[string] { return NewMember[string](KeyUserID, IDCodec{}) }

// TenantID returns the "tenant.id" member, an identifier (IDCodec).
func TenantID() Member[string] { return NewMember[string](KeyTenantID, IDCodec{}) }

// SessionID returns the "session.id" member, an identifier (IDCodec).
func SessionID() Member[string] { return NewMember[string](KeySessionID, IDCodec{}) }

// RequestID returns the "request.id" member, an identifier (IDCodec). Over HTTP the otelctx
// middleware and transport already carry the request ID in x-request-id; put it in baggage too
// only for hops that forward baggage but drop other headers, such as a message queue.
func RequestID() Member[string] { return NewMember[string](KeyRequestID, IDCodec{}) }

// Key returns the member's key.
func (m Member[T]) Key() string { return m.key }

// Err reports why the member cannot be used (a bad key, no codec), or nil.
func (m Member[T]) Err() error {
	if m.codec == nil && m.err == nil {
		return errors.New("baggage: zero Member")
	}
	return m.err
}

// Set returns a copy of ctx whose baggage holds v under the member's key, replacing any value the
// key held. The value is checked against the codec and the limits (MaxMembers members, MaxBytes
// bytes as encoded for the wire) before anything changes: on error ctx is returned as it was,
// so a member is on the wire whole or not at all.
func (m Member[T]) Set(ctx context.Context, v T) (context.Context, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Err(); err != nil {
		return ctx, err
	}
	s, err := m.codec.Encode(v)
	if err != nil {
		return ctx, fmt.Errorf("%w: %s: %w", ErrInvalidValue, m.key, err)
	}
	if !utf8.ValidString(s) {
		return ctx, fmt.Errorf("%w: %s: not valid UTF-8", ErrInvalidValue, m.key)
	}
	mem, err := otelbaggage.NewMemberRaw(m.key, s)
	if err != nil {
		return ctx, fmt.Errorf("%w: %s: %w", ErrInvalidValue, m.key, err)
	}
	b, err := otelbaggage.FromContext(ctx).SetMember(mem)
	if err != nil {
		return ctx, fmt.Errorf("%w: %s: %w", ErrInvalidValue, m.key, err)
	}
	if n := b.Len(); n > MaxMembers {
		return ctx, fmt.Errorf("%w: setting %s would make %d, limit %d", ErrTooManyMembers, m.key, n, MaxMembers)
	}
	if n := len(b.String()); n > MaxBytes {
		return ctx, fmt.Errorf("%w: setting %s would make %d bytes, limit %d", ErrTooLarge, m.key, n, MaxBytes)
	}
	return otelbaggage.ContextWithBaggage(ctx, b), nil
}

// Get returns the member's value in ctx and whether there is one. A value the codec cannot
// decode reads as absent: baggage comes from other processes, and a bad value is no value.
func (m Member[T]) Get(ctx context.Context) (T, bool) {
	var zero T
	if ctx == nil || m.err != nil || m.codec == nil {
		return zero, false
	}
	mem := otelbaggage.FromContext(ctx).Member(m.key)
	if mem.Key() == "" {
		return zero, false
	}
	v, err := m.codec.Decode(mem.Value())
	if err != nil {
		return zero, false
	}
	return v, true
}

// Delete returns a copy of ctx whose baggage no longer holds the member, or ctx itself when it
// did not.
func (m Member[T]) Delete(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	b := otelbaggage.FromContext(ctx)
	if b.Member(m.key).Key() == "" {
		return ctx
	}
	if b.Len() == 1 {
		return otelbaggage.ContextWithoutBaggage(ctx)
	}
	return otelbaggage.ContextWithBaggage(ctx, b.DeleteMember(m.key))
}

// StringCodec carries any valid UTF-8 text, the empty string included.
type StringCodec struct{}

// Encode returns s, or an error if s is not valid UTF-8.
func (StringCodec) Encode(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	return s, nil
}

// Decode returns s.
func (StringCodec) Decode(s string) (string, error) { return s, nil }

// IntCodec carries an int64 in decimal.
type IntCodec struct{}

// Encode formats v in decimal.
func (IntCodec) Encode(v int64) (string, error) { return strconv.FormatInt(v, 10), nil }

// Decode parses a decimal int64.
func (IntCodec) Decode(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return v, nil
}

// BoolCodec carries a bool as "true" or "false"; Decode also takes what strconv.ParseBool does.
type BoolCodec struct{}

// Encode returns "true" or "false".
func (BoolCodec) Encode(v bool) (string, error) { return strconv.FormatBool(v), nil }

// Decode parses a bool.
func (BoolCodec) Decode(s string) (bool, error) {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return v, nil
}

// MaxIDLen is the longest identifier IDCodec carries: otelctx's bound on request IDs.
const MaxIDLen = w3cbaggage.MaxIDLen

// IDCodec carries identifiers: 1 to MaxIDLen bytes, each one of A-Z a-z 0-9 . _ @ : -. That
// covers UUIDs, ULIDs, numbers, slugs and e-mail-like IDs, and keeps out everything that could
// break a header, a log line or a query (spaces, quotes, commas, control bytes, non-ASCII). The
// rule is otelctx.ValidRequestID's (both are internal/w3cbaggage's), so an ID valid in one is
// valid in the other.
type IDCodec struct{}

// Encode returns id, or an error if it is not an identifier.
func (IDCodec) Encode(id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	return id, nil
}

// Decode returns s, or an error if it is not an identifier.
func (IDCodec) Decode(s string) (string, error) {
	if err := checkID(s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return s, nil
}

func checkID(id string) error {
	if w3cbaggage.ValidID(id) {
		return nil
	}
	if len(id) == 0 || len(id) > MaxIDLen {
		return fmt.Errorf("identifier of %d bytes, want 1 to %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ { // say which byte: only on the error path
		if !w3cbaggage.ValidID(id[i : i+1]) {
			return fmt.Errorf("identifier holds byte %q at %d, want A-Z a-z 0-9 . _ @ : -", id[i], i)
		}
	}
	return fmt.Errorf("identifier %q refused", id)
}
