package baggage

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	otelbaggage "go.opentelemetry.io/otel/baggage"
)

func validKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !w3cbaggage.TokenChar[s[i]] {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func skipOWS(s string, i int) int {
	for i < len(s) && isOWS(s[i]) {
		i++
	}
	return i
}

func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func scanToken(s string, i int) int {
	for i < len(s) && w3cbaggage.TokenChar[s[i]] {
		i++
	}
	return i
}

// scanValue returns the end of the value starting at i and whether its percent-escapes are
// well formed (every % followed by two hex digits).
func scanValue(s string, i int) (int, bool) {
	ok := true
	for ; i < len(s) && w3cbaggage.OctetChar[s[i]]; i++ {
		if s[i] == '%' && (i+2 >= len(s) || !w3cbaggage.IsHex(s[i+1]) || !w3cbaggage.IsHex(s[i+2])) {
			ok = false
		}
	}
	return i, ok
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// decodeValue percent-decodes a value scanValue accepted. W3C wants octets that do not form
// UTF-8 replaced with U+FFFD. A value without escapes is returned as it is, without allocating.
func decodeValue(raw string) string {
	if strings.IndexByte(raw, '%') < 0 {
		return raw
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '%' {
			b = append(b, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
			continue
		}
		b = append(b, raw[i])
	}
	if utf8.Valid(b) {
		return string(b)
	}
	// Each byte that starts no valid sequence becomes one U+FFFD, as the SDK and WHATWG
	// decoders do (strings.ToValidUTF8 would fold a run of them into one).
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// encodedLen is the length of v once the OpenTelemetry SDK has percent-encoded it for the wire:
// '%' and every byte outside baggage-octet take three bytes.
func encodedLen(v string) int {
	n := len(v)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '%' || !w3cbaggage.OctetChar[c] {
			n += 2
		}
	}
	return n
}

// rawMember is one list-member as scanned: key, raw (still encoded) value and the text after the
// first ';', with the number of properties in it.
type rawMember struct {
	key, value, props string
	nprops            int
}

// scanMember reads one trimmed, non-empty list-member:
//
//	key OWS "=" OWS value *( OWS ";" OWS property )
//
// Empty properties (";;", a trailing ";") are accepted and skipped, as the OpenTelemetry SDK
// does. It allocates nothing.
func scanMember(s string) (rawMember, bool) {
	i := scanToken(s, 0)
	if i == 0 {
		return rawMember{}, false
	}
	m := rawMember{key: s[:i]}
	i = skipOWS(s, i)
	if i == len(s) || s[i] != '=' {
		return rawMember{}, false
	}
	i = skipOWS(s, i+1)
	end, ok := scanValue(s, i)
	if !ok {
		return rawMember{}, false
	}
	m.value = s[i:end]
	i = skipOWS(s, end)
	if i == len(s) {
		return m, true
	}
	if s[i] != ';' {
		return rawMember{}, false
	}
	m.props = s[i+1:]
	for p := (propScanner{s: m.props}); ; {
		_, _, _, more, ok := p.next()
		if !ok {
			return rawMember{}, false
		}
		if !more {
			break
		}
		m.nprops++
	}
	return m, true
}

// propScanner walks the ';'-separated properties of a member.
type propScanner struct {
	s string
	i int
}

// next returns the next property (key, raw value, whether it has a value); more is false at the
// end, ok is false on a grammar error.
func (p *propScanner) next() (key, value string, hasValue, more, ok bool) {
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

// memberOf builds the SDK member for a scanned one, and its length as the SDK will encode it.
func memberOf(r rawMember) (otelbaggage.Member, int, error) {
	value := decodeValue(r.value)
	size := len(r.key) + 1 + encodedLen(value)
	var props []otelbaggage.Property
	if r.nprops > 0 {
		props = make([]otelbaggage.Property, 0, r.nprops)
		for p := (propScanner{s: r.props}); ; {
			k, v, hasValue, more, _ := p.next()
			if !more {
				break
			}
			var (
				prop otelbaggage.Property
				err  error
			)
			if hasValue {
				pv := decodeValue(v)
				prop, err = otelbaggage.NewKeyValuePropertyRaw(k, pv)
				size += 1 + len(k) + 1 + encodedLen(pv)
			} else {
				prop, err = otelbaggage.NewKeyProperty(k)
				size += 1 + len(k)
			}
			if err != nil {
				return otelbaggage.Member{}, 0, err
			}
			props = append(props, prop)
		}
	}
	m, err := otelbaggage.NewMemberRaw(r.key, value, props...)
	return m, size, err
}

// parseResult is what parse keeps and what it had to drop.
type parseResult struct {
	members   []otelbaggage.Member
	malformed int    // list-members refused by the grammar
	example   string // the first of them, cut short for a log line
	props     int    // members dropped for passing MaxProperties
	tooMany   bool   // stopped at MaxMembers
	tooLarge  bool   // stopped at MaxBytes
}

// maxExample is how much of a malformed member an error quotes: enough to recognise it, too
// little to carry a flood into a log.
const maxExample = 64

// parse reads the baggage header fields of one request, combined as RFC 9110 combines repeated
// fields (joined by commas), keeping the members allow chooses (all of them when allow is nil).
//
// Work and memory are bounded whatever the input: the scan stops at the first list-member that
// ends past byte MaxBytes of the combined string or is the 65th, so no more than MaxBytes of
// input is read however many fields or bytes arrive, and no more than MaxMembers members and
// MaxProperties properties are built. Members before the limit are kept whole; what follows is
// dropped, never cut. Malformed members are skipped. The members kept encode, as the SDK will
// write them, to at most MaxBytes, so New never has to drop any at random.
func parse(fields []string, allow *Filter) parseResult {
	var (
		res    parseResult
		offset int // where the current field starts in the combined string
		count  int // non-empty list-members seen
		size   int // encoded bytes of the members kept, commas included
		props  int // properties kept
	)
	for fi, f := range fields {
		if fi > 0 {
			offset++ // the comma that joins two fields
		}
		if offset > MaxBytes {
			res.tooLarge = true
			return res
		}
		for pos := 0; pos <= len(f); {
			// Look for the comma only as far as the limit allows: a field of a megabyte without
			// commas is not scanned past MaxBytes.
			window := f[pos:min(len(f), MaxBytes-offset+1)]
			end := len(f)
			if c := strings.IndexByte(window, ','); c >= 0 {
				end = pos + c
			} else if len(f) > MaxBytes-offset {
				// This list-member runs past the limit: keep what came before it.
				res.tooLarge = true
				return res
			}
			seg := trimOWS(f[pos:end])
			pos = end + 1
			if seg == "" {
				continue
			}
			if count++; count > MaxMembers {
				res.tooMany = true
				return res
			}
			r, ok := scanMember(seg)
			if !ok {
				if res.malformed++; res.malformed == 1 {
					res.example = seg[:min(len(seg), maxExample)]
				}
				continue
			}
			if allow != nil && !allow.Match(r.key) {
				continue
			}
			if props+r.nprops > MaxProperties {
				res.props++
				continue
			}
			m, msize, err := memberOf(r)
			if err != nil { // cannot happen for a member scanMember accepted; refuse it all the same
				res.malformed++
				continue
			}
			if len(res.members) > 0 {
				msize++ // comma
			}
			if size+msize > MaxBytes {
				// Decoding and re-encoding can lengthen a value (an invalid octet becomes
				// U+FFFD, nine bytes once encoded); stop here rather than send more than
				// MaxBytes on.
				res.tooLarge = true
				return res
			}
			size += msize
			props += r.nprops
			if res.members == nil {
				res.members = make([]otelbaggage.Member, 0, initialMembers(fields, fi, f[min(pos, len(f)):]))
			}
			res.members = append(res.members, m)
		}
		offset += len(f)
	}
	return res
}

// initialMembers guesses how many members parse will keep once it keeps one: this one, those
// that may follow in rest (the field after it) and in the later fields, at most 8, so that the
// usual handful costs one allocation and an allowlist of one never pays for 64.
func initialMembers(fields []string, fi int, rest string) int {
	n := 1 + len(fields) - fi - 1
	if rest != "" {
		n += 1 + strings.Count(rest[:min(len(rest), MaxBytes)], ",")
	}
	return min(n, 8)
}

// err describes what parse dropped, or returns nil when it dropped nothing.
func (r parseResult) err() error {
	var errs []error
	if r.malformed > 0 {
		errs = append(errs, fmt.Errorf("%w: %d skipped, first %q", ErrMalformed, r.malformed, r.example))
	}
	if r.props > 0 {
		errs = append(errs, fmt.Errorf("%w: %d members dropped, limit %d properties", ErrTooManyProperties, r.props, MaxProperties))
	}
	if r.tooMany {
		errs = append(errs, fmt.Errorf("%w: members past the %dth dropped", ErrTooManyMembers, MaxMembers))
	}
	if r.tooLarge {
		errs = append(errs, fmt.Errorf("%w: members past byte %d dropped", ErrTooLarge, MaxBytes))
	}
	return errors.Join(errs...)
}
