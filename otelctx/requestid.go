package otelctx

import (
	"context"
	"math/rand/v2"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
)

// MaxRequestIDLen is the longest x-request-id ctxtrail accepts from the network or forwards. An
// incoming ID past it is replaced by a generated one.
const MaxRequestIDLen = w3cbaggage.MaxIDLen

// WithRequestID returns a copy of ctx that carries id as the request ID. The HTTP middleware
// sets it from a safe incoming x-request-id or a generated one; zapbridge writes it on every
// line and the client transport forwards it.
//
// WithRequestID stores id as given; ValidRequestID says whether it will be forwarded, because
// an ID that could break a header or a log line never leaves the process.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, reqstore.RequestIDKey, &id)
}

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string {
	return reqstore.RequestID(ctx)
}

// ValidRequestID reports whether id is safe to adopt from an incoming x-request-id and to forward:
// 1 to MaxRequestIDLen bytes, each one of A-Z a-z 0-9 . _ @ : - (so no CR, LF, space, quote,
// comma or non-ASCII byte).
//
// The set covers UUIDs, ULIDs, hex and most vendor formats, and excludes everything that could
// split a header, break a log line or a CSV/JSON field, or smuggle non-ASCII text. The baggage
// package's identifier members (user.id, tenant.id, …) follow the same rule.
func ValidRequestID(id string) bool { return w3cbaggage.ValidID(id) }

// NewRequestID returns a fresh request ID: 32 lowercase hex digits (128 random bits from
// math/rand/v2, whose generator is seeded from the operating system). It is meant to be unique,
// not secret: never use a request ID as a credential.
func NewRequestID() string {
	var b [32]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 15; i >= 0; i-- {
		b[i] = hexDigit[hi&0xf]
		hi >>= 4
		b[16+i] = hexDigit[lo&0xf]
		lo >>= 4
	}
	return string(b[:])
}

const hexDigit = "0123456789abcdef"
