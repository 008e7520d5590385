package w3cbaggage

import "strings"

// Limits on an incoming baggage-string: W3C Baggage's and OpenTelemetry's.
const (
	MaxMembers = 64   // list-members read, well formed or not
	MaxBytes   = 8192 // bytes of the combined fields read
)

// Limit says why Scan stopped before the end of the fields.
type Limit uint8

const (
	// Within: every list-member was read.
	Within Limit = iota
	// TooMany: a list-member past the MaxMembers-th was found; it and the rest were not read.
	TooMany
	// TooLarge: a list-member ends past byte MaxBytes of the combined fields; it and the rest
	// were not read.
	TooLarge
)

// Member is one list-member as scanned: key, raw (still percent-encoded) value, and the text
// after the first ';' with the number of properties in it.
type Member struct {
	Key, Value, Props string
	NProps            int
}

// Scan is the one reading of incoming baggage that ctxtrail has: otelctx's HeaderCarrier and the
// baggage package's Propagator both go through it, so both keep the same members.
//
// The fields are read as RFC 9110 combines repeated fields (joined by commas). Scan calls yield
// for each non-blank list-member, in order, with the member trimmed of spaces and tabs, what
// ScanMember made of it, and whether it is to be kept: well formed and, for an identifier key
// (IDKey), an identifier value. Blank members are skipped and not counted. Scan stops at the
// first list-member that is the (MaxMembers+1)-th or ends past byte MaxBytes of the combined
// string and says which limit stopped it: members before it are kept whole, nothing is ever cut,
// and no more than MaxBytes of input is looked at however many fields or bytes arrive. When
// yield returns false Scan stops and returns Within.
//
// Scan allocates nothing.
func Scan(fields []string, yield func(seg string, m Member, ok bool) bool) Limit {
	offset, count := 0, 0 // where the current field starts in the combined string; members seen
	for fi, f := range fields {
		if fi > 0 {
			offset++ // the comma that joins two fields
		}
		if offset > MaxBytes {
			return TooLarge
		}
		for pos := 0; pos <= len(f); {
			// Look for the comma only as far as the limit allows: a field of a megabyte without
			// commas is not scanned past MaxBytes.
			window := f[pos:min(len(f), MaxBytes-offset+1)]
			end := len(f)
			if c := strings.IndexByte(window, ','); c >= 0 {
				end = pos + c
			} else if len(f) > MaxBytes-offset {
				return TooLarge // this list-member runs past the limit
			}
			seg := TrimOWS(f[pos:end])
			pos = end + 1
			if seg == "" {
				continue
			}
			if count++; count > MaxMembers {
				return TooMany
			}
			m, ok := ScanMember(seg)
			if ok && IDKey(m.Key) && !validIDValue(m.Value) {
				ok = false
			}
			if !yield(seg, m, ok) {
				return Within
			}
		}
		offset += len(f)
	}
	return Within
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func skipOWS(s string, i int) int {
	for i < len(s) && isOWS(s[i]) {
		i++
	}
	return i
}

// TrimOWS trims the optional whitespace (spaces and tabs) of RFC 9110 from both ends of s.
func TrimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func scanToken(s string, i int) int {
	for i < len(s) && TokenChar[s[i]] {
		i++
	}
	return i
}

// scanValue returns the end of the value starting at i and whether its percent-escapes are
// well formed (every % followed by two hex digits).
func scanValue(s string, i int) (int, bool) {
	ok := true
	for ; i < len(s) && OctetChar[s[i]]; i++ {
		if s[i] == '%' && (i+2 >= len(s) || !IsHex(s[i+1]) || !IsHex(s[i+2])) {
			ok = false
		}
	}
	return i, ok
}

// ScanMember reads one trimmed, non-empty list-member:
//
//	key OWS "=" OWS value *( OWS ";" OWS property )
//
// Empty properties (";;", a trailing ";") are accepted and skipped, as the OpenTelemetry SDK
// does. It allocates nothing.
func ScanMember(s string) (Member, bool) {
	i := scanToken(s, 0)
	if i == 0 {
		return Member{}, false
	}
	m := Member{Key: s[:i]}
	i = skipOWS(s, i)
	if i == len(s) || s[i] != '=' {
		return Member{}, false
	}
	i = skipOWS(s, i+1)
	end, ok := scanValue(s, i)
	if !ok {
		return Member{}, false
	}
	m.Value = s[i:end]
	i = skipOWS(s, end)
	if i == len(s) {
		return m, true
	}
	if s[i] != ';' {
		return Member{}, false
	}
	m.Props = s[i+1:]
	for p := (PropScanner{s: m.Props}); ; {
		_, _, _, more, ok := p.Next()
		if !ok {
			return Member{}, false
		}
		if !more {
			break
		}
		m.NProps++
	}
	return m, true
}

// PropScanner walks the ';'-separated properties of a member.
type PropScanner struct {
	s string
	i int
}

// NewPropScanner returns a scanner over props, a Member's Props.
func NewPropScanner(props string) PropScanner { return PropScanner{s: props} }

// Next returns the next property (key, raw value, whether it has a value); more is false at the
// end, ok is false on a grammar error.
func (p *PropScanner) Next() (key, value string, hasValue, more, ok bool) {
	s := p.s
	for {
		p.i = skipOWS(s, p.i)
		if p.i == len(s) {
			return "", "", false, false, true
		}
		if s[p.i] != ';' {
			break
		}
		p.i++ // an empty property
	}
	ks := p.i
	ke := scanToken(s, ks)
	if ke == ks {
		return "", "", false, false, false
	}
	key = s[ks:ke]
	i := skipOWS(s, ke)
	if i < len(s) && s[i] == '=' {
		vs := skipOWS(s, i+1)
		ve, vok := scanValue(s, vs)
		if !vok {
			return "", "", false, false, false
		}
		value, hasValue = s[vs:ve], true
		i = skipOWS(s, ve)
	}
	switch {
	case i == len(s):
	case s[i] == ';':
		i++
	default:
		return "", "", false, false, false
	}
	p.i = i
	return key, value, hasValue, true, true
}
