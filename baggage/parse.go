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

// decodeValue percent-decodes a value scanValue accepted. W3C wants octets that do not form
// UTF-8 replaced with U+FFFD. A value without escapes is returned as it is, without allocating.
func decodeValue(raw string) string {
	if strings.IndexByte(raw, '%') < 0 {
		return raw
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '%' {
			b = append(b, w3cbaggage.Unhex(raw[i+1])<<4|w3cbaggage.Unhex(raw[i+2]))
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

// memberOf builds the SDK member for a scanned one, and its length as the SDK will encode it.
func memberOf(r w3cbaggage.Member) (otelbaggage.Member, int, error) {
	value := decodeValue(r.Value)
	size := len(r.Key) + 1 + encodedLen(value)
	var props []otelbaggage.Property
	if r.NProps > 0 {
		props = make([]otelbaggage.Property, 0, r.NProps)
		for p := w3cbaggage.NewPropScanner(r.Props); ; {
			k, v, hasValue, more, _ := p.Next()
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
	m, err := otelbaggage.NewMemberRaw(r.Key, value, props...)
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

// parse reads the baggage header fields of one request through w3cbaggage.Scan, the bounded
// reading otelctx's HeaderCarrier shares, keeping the members allow chooses (all of them when
// allow is nil).
//
// Work and memory are bounded whatever the input: Scan reads the first MaxMembers list-members
// within MaxBytes of the combined fields and no more, and no more than MaxProperties properties
// are built. Members before a limit are kept whole; what follows is dropped, never cut.
// Malformed members, and identifier members (user.id, tenant.id, session.id, request.id) whose
// value is not an identifier, are skipped. The members kept encode, as the SDK will write them,
// to at most MaxBytes, so New never has to drop any at random.
func parse(fields []string, allow *Filter) parseResult {
	var (
		res   parseResult
		size  int // encoded bytes of the members kept, commas included
		props int // properties kept
		seen  int // list-members read
	)
	stop := w3cbaggage.Scan(fields, func(seg string, r w3cbaggage.Member, ok bool) bool {
		seen++
		if !ok {
			if res.malformed++; res.malformed == 1 {
				res.example = seg[:min(len(seg), maxExample)]
			}
			return true
		}
		if allow != nil && !allow.Match(r.Key) {
			return true
		}
		if props+r.NProps > MaxProperties {
			res.props++
			return true
		}
		m, msize, err := memberOf(r)
		if err != nil { // cannot happen for a member Scan accepted; refuse it all the same
			res.malformed++
			return true
		}
		if len(res.members) > 0 {
			msize++ // comma
		}
		if size+msize > MaxBytes {
			// Decoding and re-encoding can lengthen a value (an invalid octet becomes U+FFFD,
			// nine bytes once encoded); stop here rather than send more than MaxBytes on.
			res.tooLarge = true
			return false
		}
		size += msize
		props += r.NProps
		if res.members == nil {
			res.members = make([]otelbaggage.Member, 0, initialMembers(fields, seen))
		}
		res.members = append(res.members, m)
		return true
	})
	switch stop {
	case w3cbaggage.TooMany:
		res.tooMany = true
	case w3cbaggage.TooLarge:
		res.tooLarge = true
	}
	return res
}

// initialMembers guesses how many members parse will keep once it keeps one, when seen
// list-members have been read: those the fields may still hold, at most 8, so that the usual
// handful costs one allocation and an allowlist of one never pays for 64.
func initialMembers(fields []string, seen int) int {
	n, budget := 0, MaxBytes
	for _, f := range fields {
		if budget <= 0 {
			break
		}
		f = f[:min(len(f), budget)]
		n += 1 + strings.Count(f, ",")
		budget -= len(f) + 1
	}
	return min(max(n-seen+1, 1), 8)
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
