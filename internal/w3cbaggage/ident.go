package w3cbaggage

// MaxIDLen is the longest identifier: a request ID or the value of an identifier member.
const MaxIDLen = 128

// IDChar marks the bytes an identifier may hold: A-Z a-z 0-9 and . _ @ : -. The set covers
// UUIDs, ULIDs, hex and most vendor formats, and excludes everything that could split a header
// (CR, LF), break a log line or a CSV/JSON field (quotes, commas, spaces, control bytes) or smuggle
// non-ASCII text.
var IDChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
		t[c+'a'-'A'] = true
	}
	for _, c := range "._@:-" {
		t[c] = true
	}
	return t
}()

// ValidID reports whether id is 1 to MaxIDLen bytes of IDChar.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !IDChar[id[i]] {
			return false
		}
	}
	return true
}

// IDKey reports whether key names one of the baggage package's ready-made identifier members
// (user.id, tenant.id, session.id, request.id), whose values must be identifiers wherever they
// are read: at the edge, on a span, on a log line.
func IDKey(key string) bool {
	switch key {
	case "user.id", "tenant.id", "session.id", "request.id":
		return true
	}
	return false
}

// ValidValue reports whether value, decoded, may be held under key: any value for most keys,
// an identifier (ValidID) for an IDKey.
func ValidValue(key, value string) bool { return !IDKey(key) || ValidID(value) }

// validIDValue reports whether raw, a percent-encoded baggage value, decodes to an identifier.
// An identifier needs no escape, but one may be escaped all the same ("%41" is "A").
func validIDValue(raw string) bool {
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) {
				return false
			}
			c = Unhex(raw[i+1])<<4 | Unhex(raw[i+2])
			i += 2
		}
		if n++; n > MaxIDLen || !IDChar[c] {
			return false
		}
	}
	return n > 0
}

// Unhex returns the value of the hex digit c, which IsHex accepted.
func Unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
