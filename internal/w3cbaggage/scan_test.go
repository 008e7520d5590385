package w3cbaggage

import (
	"strings"
	"testing"
)

func TestScanLimitsAndIdentifiers(t *testing.T) {
	kept := func(fields ...string) (out []string, stop Limit) {
		stop = Scan(fields, func(seg string, _ Member, ok bool) bool {
			if ok {
				out = append(out, seg)
			}
			return true
		})
		return out, stop
	}
	tests := []struct {
		name   string
		fields []string
		want   string
		stop   Limit
	}{
		{"blank members skipped", []string{" a=1 ,, ", "b=2"}, "a=1|b=2", Within},
		{"malformed skipped", []string{"a=1,=x,b=%zz,c=3"}, "a=1|c=3", Within},
		{"identifier escaped is fine", []string{"user.id=%41b-1"}, "user.id=%41b-1", Within},
		{"identifier with a space refused", []string{"user.id=bob%20x,plan=a%20b"}, "plan=a%20b", Within},
		{"identifier CR LF refused", []string{"tenant.id=acme%0D%0AX:1"}, "", Within},
		{"identifier too long refused", []string{"session.id=" + strings.Repeat("a", MaxIDLen+1)}, "", Within},
		{"identifier empty refused", []string{"request.id="}, "", Within},
		{"65th member stops", []string{strings.Repeat("k=v,", 65)}, strings.TrimSuffix(strings.Repeat("k=v|", 64), "|"), TooMany},
		{"member past byte 8192 stops", []string{"a=1,b=" + strings.Repeat("x", MaxBytes)}, "a=1", TooLarge},
		{"many empty fields stop", make([]string, MaxBytes+2), "", TooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stop := kept(tt.fields...)
			if strings.Join(got, "|") != tt.want || stop != tt.stop {
				t.Fatalf("kept %q stop %d, want %q stop %d", strings.Join(got, "|"), stop, tt.want, tt.stop)
			}
		})
	}
}

func TestAllocScan(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		kept := 0
		Scan([]string{"a=1,user.id=x%20y"}, func(string, Member, bool) bool { kept++; return true })
	}); n != 0 {
		t.Fatalf("Scan allocates %.0f times", n)
	}
}
