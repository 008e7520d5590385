package baggage

import (
	"errors"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
)

// Limits on a baggage-string. MaxMembers and MaxBytes are the W3C Baggage and OpenTelemetry
// limits; MaxProperties is ctxtrail's own, because W3C sets none and every property parsed from
// the network is a value the process must hold.
const (
	// MaxMembers is the most list-members a baggage-string holds.
	MaxMembers = w3cbaggage.MaxMembers
	// MaxBytes is the longest baggage-string: members as encoded on the wire plus the commas
	// between them.
	MaxBytes = w3cbaggage.MaxBytes
	// MaxProperties is the most properties (the ";k=v" metadata after a value) kept from one
	// incoming baggage-string, all members together. A member whose properties would pass it is
	// dropped whole, so a header packed with thousands of properties costs no more than this.
	MaxProperties = 64
)

// Errors, wrapped by every error this package returns or reports so callers can match them with
// errors.Is.
var (
	// ErrInvalidKey: the key is not a W3C token (letters, digits and !#$%&'*+-.^_`|~).
	ErrInvalidKey = errors.New("baggage: invalid key")
	// ErrInvalidValue: the codec refused the value, or it is not valid UTF-8.
	ErrInvalidValue = errors.New("baggage: invalid value")
	// ErrTooManyMembers: more than MaxMembers list-members.
	ErrTooManyMembers = errors.New("baggage: too many members")
	// ErrTooLarge: the baggage-string would be longer than MaxBytes.
	ErrTooLarge = errors.New("baggage: too large")
	// ErrTooManyProperties: an incoming baggage-string held more than MaxProperties properties.
	ErrTooManyProperties = errors.New("baggage: too many properties")
	// ErrMalformed: an incoming list-member does not follow the W3C grammar.
	ErrMalformed = errors.New("baggage: malformed member")
)
