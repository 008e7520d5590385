package wire

import (
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
)

// BaggageValue returns the baggage fields as the Baggage propagator should parse them: the
// members w3cbaggage.Scan keeps (the first 64 list-members within 8192 bytes, well formed,
// identifier members with identifier values), joined into one list (RFC 9110 section 5.3), or
// the field itself when there is one and nothing was dropped. Malformed members are dropped here
// because the SDK's parser allocates an error for each one, which would let a hostile header
// cost thousands of allocations; the limits are applied here so that the SDK's propagator, which
// refuses a baggage-string past them whole, keeps the same members as the baggage package's.
func BaggageValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	scan := scanBaggage(vs)
	switch {
	case scan.kept == 0:
		return ""
	case len(vs) == 1 && scan.clean():
		return vs[0]
	}
	var b strings.Builder
	b.Grow(scan.size)
	w3cbaggage.Scan(vs, func(seg string, _ w3cbaggage.Member, ok bool) bool {
		if ok {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(seg)
		}
		return true
	})
	return b.String()
}

// baggageScan summarises the baggage fields of a request as w3cbaggage.Scan reads them.
type baggageScan struct {
	kept    int              // members kept
	dropped int              // malformed members, and identifier members with a bad value
	blank   bool             // an empty or whitespace-only member, which the SDK's parser refuses
	size    int              // bytes of the members kept and the commas that join them
	limit   w3cbaggage.Limit // why the reading stopped early, if it did
}

// clean reports whether the fields hold only members that are kept.
func (s baggageScan) clean() bool { return s.dropped == 0 && !s.blank && s.limit == w3cbaggage.Within }

func scanBaggage(vs []string) baggageScan {
	var s baggageScan
	s.limit = w3cbaggage.Scan(vs, func(seg string, _ w3cbaggage.Member, ok bool) bool {
		if !ok {
			s.dropped++
			return true
		}
		if s.kept > 0 {
			s.size++
		}
		s.kept++
		s.size += len(seg)
		return true
	})
	if len(vs) == 1 && s.kept > 0 {
		s.blank = hasBlankMember(TrimOWS(vs[0]))
	}
	return s
}

// checkBaggage warns about the baggage fields bg of a request: members past W3C's limits, or
// malformed ones, dropped.
func checkBaggage(warn Warner, bg []string) {
	switch scan := scanBaggage(bg); {
	case scan.limit != w3cbaggage.Within:
		warn.Warn(Baggage, "over W3C limits (64 members, 8192 bytes); the first members kept, the rest dropped")
	case scan.dropped > 0:
		warn.Warn(Baggage, "malformed members dropped")
	}
}
