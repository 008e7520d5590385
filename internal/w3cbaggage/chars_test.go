package w3cbaggage

import (
	"strings"
	"testing"
)

// The classes written the other way round: everything visible but the separators (RFC 9110's
// definition of tchar by exclusion), and the ABNF ranges of baggage-octet.
func TestClasses(t *testing.T) {
	for c := range 256 {
		visible := c > 0x20 && c < 0x7f
		token := visible && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(c))
		octet := c == 0x21 || c >= 0x23 && c <= 0x2b || c >= 0x2d && c <= 0x3a ||
			c >= 0x3c && c <= 0x5b || c >= 0x5d && c <= 0x7e
		if TokenChar[c] != token {
			t.Errorf("TokenChar[%#x] = %v, want %v", c, TokenChar[c], token)
		}
		if OctetChar[c] != octet {
			t.Errorf("OctetChar[%#x] = %v, want %v", c, OctetChar[c], octet)
		}
		hex := strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) && c < 0x80
		if IsHex(byte(c)) != hex {
			t.Errorf("IsHex(%#x) = %v, want %v", c, IsHex(byte(c)), hex)
		}
	}
}
