// Package w3cbaggage is the one reading of the W3C Baggage header that ctxtrail has: its
// character classes, the bounded scan of the combined fields (Scan: the first 64 list-members
// within 8192 bytes, whole and in order) and the identifier rule of the ready-made identifier
// members. otelctx's HeaderCarrier and the baggage package's Propagator both read through it, so
// they keep the same members; otelctx's request IDs follow the same identifier rule.
package w3cbaggage

// TokenChar marks the bytes of an RFC 9110 token, which W3C Baggage uses for keys:
// ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA.
var TokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
		t[c+'a'-'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// OctetChar marks W3C's baggage-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, that is
// printable US-ASCII without space, DQUOTE, comma, semicolon and backslash.
var OctetChar = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = true
	}
	for _, c := range "\",;\\" {
		t[c] = false
	}
	return t
}()

// IsHex reports whether c is a hexadecimal digit, as a percent-escape needs two of.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
