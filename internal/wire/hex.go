package wire

// HexDigits are the lowercase hex digits W3C IDs and the x-headers use.
const HexDigits = "0123456789abcdef"

// EncodeHex writes src as lowercase hex into dst, which must be twice as long.
func EncodeHex(dst, src []byte) {
	for i, b := range src {
		dst[2*i] = HexDigits[b>>4]
		dst[2*i+1] = HexDigits[b&0xf]
	}
}

// unhex maps a lowercase hex digit to its value and every other byte to 0xff: W3C IDs and the
// x-headers allow lowercase only.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[HexDigits[i]] = byte(i)
	}
	return t
}()

// DecodeHex decodes s, exactly 2*len(dst) lowercase hex digits, into dst.
func DecodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		dst[i] = hi<<4 | lo&0xf
		bad |= hi | lo
	}
	return bad&0xf0 == 0
}

// DecodeHexID is DecodeHex that also refuses an all-zero ID, which W3C forbids.
func DecodeHexID(dst []byte, s string) bool {
	if !DecodeHex(dst, s) {
		return false
	}
	for _, b := range dst {
		if b != 0 {
			return true
		}
	}
	return false
}
