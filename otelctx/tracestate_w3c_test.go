package otelctx_test

import (
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

// TestW3CLevel2Tracestate runs the suite's harness (raw requests to a service behind NewHandler
// that calls back through NewTransport) with ctxtrail's propagator, on lists only W3C Trace
// Context Level 2 allows. Its key grammar (section 3.3.1.3.1) is
//
//	key = ( lcalpha / DIGIT ) 0*255 ( keychar )
//	keychar = lcalpha / DIGIT / "_" / "-"/ "*" / "/" / "@"
//
// "A key MUST begin with a lowercase letter or a digit and contain up to 256 characters
// including lowercase letters (a-z), digits (0-9), underscores (_), dashes (-), asterisks (*),
// forward slashes (/), and at signs (@)." The value and the list rules are Level 1's: at most 32
// list-members, empty and whitespace-only members allowed (and not passed on), and a list that
// cannot be parsed — here a malformed member or a key given twice — is discarded whole.
// The Go SDK's parser refuses every list below that has a Level 2 key.
func TestW3CLevel2Tracestate(t *testing.T) {
	h := w3cStartWith(t, otelctx.NewPropagator())
	key256 := "1" + strings.Repeat("a@", 127) + "z"
	value256 := strings.Repeat("v", 256)
	l2members := func(from, to int) string { // "0k01=01,0k02=02,...": keys that start with a digit
		var ms []string
		for i := from; i <= to; i++ {
			n := strings.Repeat("0", 2-len(itoa(i))) + itoa(i)
			ms = append(ms, "0k"+n+"="+n)
		}
		return strings.Join(ms, ",")
	}
	tests := []struct {
		name    string
		headers [][2]string
		want    string // the tracestate the next service receives, "" for none
	}{
		{"key starts with a digit", [][2]string{w3cValid00, w3cTS("1vendor=x,foo=1")}, "1vendor=x,foo=1"},
		{"at sign after the first character", [][2]string{w3cValid00, w3cTS("a@b@c=1,foo=2")}, "a@b@c=1,foo=2"},
		{"at sign last", [][2]string{w3cValid00, w3cTS("foo@=1,bar=2")}, "foo@=1,bar=2"},
		{"two at signs together", [][2]string{w3cValid00, w3cTS("foo@@bar=1,bar=2")}, "foo@@bar=1,bar=2"},
		{"tenant longer than Level 1's 241", [][2]string{w3cValid00, w3cTS(strings.Repeat("t", 242) + "@v=1")}, strings.Repeat("t", 242) + "@v=1"},
		{"vendor longer than Level 1's 14", [][2]string{w3cValid00, w3cTS("t@" + strings.Repeat("v", 15) + "=1")}, "t@" + strings.Repeat("v", 15) + "=1"},
		{"key of 256 characters", [][2]string{w3cValid00, w3cTS(key256 + "=1,foo=2")}, key256 + "=1,foo=2"},
		{"value of 256 characters", [][2]string{w3cValid00, w3cTS("1a=" + value256)}, "1a=" + value256},
		{"fields joined in order", [][2]string{w3cValid00, w3cTS("1a=1,foo=2"), w3cTS("bar=3"), w3cTS("2b=4")}, "1a=1,foo=2,bar=3,2b=4"},
		{"OWS and empty members dropped", [][2]string{w3cValid00, w3cTS(" 1a=1 ,, \t,foo=2\t")}, "1a=1,foo=2"},
		{"32 members", [][2]string{w3cValid00, w3cTS(l2members(1, 16)), w3cTS(l2members(17, 32))}, l2members(1, 32)},
		// Discarded whole: the traceparent still counts, the list does not.
		{"33 members", [][2]string{w3cValid00, w3cTS(l2members(1, 16)), w3cTS(l2members(17, 33))}, ""},
		{"key of 257 characters", [][2]string{w3cValid00, w3cTS(key256 + "x=1,foo=2")}, ""},
		{"value of 257 characters", [][2]string{w3cValid00, w3cTS("1a=" + value256 + "v")}, ""},
		{"key starts with an at sign", [][2]string{w3cValid00, w3cTS("@foo=1,1a=2")}, ""},
		{"key starts with an underscore", [][2]string{w3cValid00, w3cTS("_a=1,1a=2")}, ""},
		{"uppercase key", [][2]string{w3cValid00, w3cTS("1A=1,foo=2")}, ""},
		{"duplicate Level 2 key", [][2]string{w3cValid00, w3cTS("1a=1,1a=2")}, ""},
		{"duplicate key across fields", [][2]string{w3cValid00, w3cTS("1a=1,foo=2"), w3cTS("foo=3")}, ""},
		{"value with equals", [][2]string{w3cValid00, w3cTS("1a=b=c")}, ""},
		{"empty value", [][2]string{w3cValid00, w3cTS("1a=,foo=2")}, ""},
		{"member without equals", [][2]string{w3cValid00, w3cTS("1a,foo=2")}, ""},
		{"without traceparent", [][2]string{w3cTS("1a=1")}, ""},
		{"invalid traceparent", [][2]string{w3cTP("00-" + w3cTID + "-0000000000000000-01"), w3cTS("1a=1")}, ""},
		// Level 1 lists still go the SDK's way.
		{"Level 1 list", [][2]string{w3cValid00, w3cTS("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")}, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := h.send(t, 1, tt.headers)[0]
			tp := w3cTraceparent(t, seen)
			if len(tt.headers) > 0 && tt.headers[0] == w3cValid00 {
				w3cSameTrace(t, tp, w3cState{})
			}
			got := strings.Join(seen.Tracestate, ",")
			if got != tt.want {
				t.Fatalf("next service got tracestate %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
