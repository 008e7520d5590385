// Package w3cbaggage holds the character classes of the W3C Baggage header, which two parts of
// ctxtrail check: otelctx, when it drops malformed members before the SDK's parser sees them,
// and the baggage package's own parser.
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
