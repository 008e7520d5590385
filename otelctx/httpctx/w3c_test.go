package httpctx_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The cases below are the W3C Trace Context test suite (w3c/trace-context, test/test.py), run
// the way its harness runs them: raw HTTP requests, header names and values byte for byte, to a
// service behind NewHandler, which calls back to a harness server through NewTransport; the
// harness checks the traceparent and tracestate of the callback. Level 2's random flag adds the
// cases at the end.

// w3cSeen is what the harness received on one callback.
type w3cSeen struct {
	Traceparent []string `json:"traceparent"`
	Tracestate  []string `json:"tracestate"`
}

type w3cHarness struct {
	addr string
}

func w3cStart(t *testing.T) *w3cHarness {
	t.Helper()
	return w3cStartWith(t, xtComposite())
}

// w3cStartWith is w3cStart with the service propagating through prop.
func w3cStartWith(t *testing.T, prop propagation.TextMapPropagator) *w3cHarness {
	t.Helper()
	harness := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(w3cSeen{Traceparent: r.Header.Values("traceparent"), Tracestate: r.Header.Values("tracestate")})
	}))
	tp := sdktrace.NewTracerProvider()
	base := &http.Transport{}
	client := &http.Client{Transport: httpctx.NewTransport(base, httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop))}
	service := httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		var seen []w3cSeen
		for i := 0; i < max(n, 1); i++ {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, harness.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			var s w3cSeen
			err = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			seen = append(seen, s)
		}
		_ = json.NewEncoder(w).Encode(seen)
	}), httpctx.WithTracerProvider(tp), httpctx.WithPropagator(prop),
		httpctx.WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, func(error) {}))))
	t.Cleanup(func() {
		service.Close()
		harness.Close()
		base.CloseIdleConnections()
	})
	return &w3cHarness{addr: service.Listener.Addr().String()}
}

// send writes a raw request with exactly the given header lines and returns what the harness
// saw on each of n callbacks.
func (h *w3cHarness) send(t *testing.T, n int, headers [][2]string) []w3cSeen {
	t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "GET /?n=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", n, h.addr)
	for _, kv := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	b.WriteString("\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("service answered %d", resp.StatusCode)
	}
	var seen []w3cSeen
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		t.Fatal(err)
	}
	return seen
}

var w3cTraceparentFormat = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// w3cParent is a traceparent the harness received, checked against the spec's format.
type w3cParent struct{ version, traceID, parentID, flags string }

func w3cTraceparent(t *testing.T, s w3cSeen) w3cParent {
	t.Helper()
	if len(s.Traceparent) != 1 {
		t.Fatalf("expect one traceparent header, got %q", s.Traceparent)
	}
	m := w3cTraceparentFormat.FindStringSubmatch(s.Traceparent[0])
	if m == nil || m[1] != "00" || m[2] == strings.Repeat("0", 32) || m[3] == strings.Repeat("0", 16) {
		t.Fatalf("invalid traceparent %q", s.Traceparent[0])
	}
	return w3cParent{m[1], m[2], m[3], m[4]}
}

// w3cState is the tracestate the harness received, as an ordered list.
type w3cState struct{ keys, values []string }

func w3cTracestate(s w3cSeen) w3cState {
	var st w3cState
	for _, field := range s.Tracestate {
		for _, m := range strings.Split(field, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(m), "="); ok {
				st.keys, st.values = append(st.keys, k), append(st.values, v)
			}
		}
	}
	return st
}

func (st w3cState) get(k string) (string, bool) {
	for i, key := range st.keys {
		if key == k {
			return st.values[i], true
		}
	}
	return "", false
}

const (
	w3cTID = "12345678901234567890123456789012"
	w3cPID = "1234567890123456"
)

// check builders for the table.
func w3cSameTrace(t *testing.T, tp w3cParent, _ w3cState) {
	t.Helper()
	if tp.traceID != w3cTID {
		t.Fatalf("trace-id %s, want %s continued", tp.traceID, w3cTID)
	}
	if tp.parentID == w3cPID {
		t.Fatal("parent-id was not updated")
	}
}

func w3cNewTrace(t *testing.T, tp w3cParent, _ w3cState) {
	t.Helper()
	if strings.HasPrefix(w3cTID, tp.traceID[:31]) || strings.HasPrefix("2"+w3cTID[1:], tp.traceID[:31]) ||
		tp.traceID == "23456789012345678901234567890123" {
		t.Fatalf("trace-id %s reuses the invalid input; want a new trace", tp.traceID)
	}
}

func w3cHas(kv ...string) func(*testing.T, w3cParent, w3cState) {
	return func(t *testing.T, tp w3cParent, st w3cState) {
		t.Helper()
		w3cSameTrace(t, tp, st)
		for i := 0; i+1 < len(kv); i += 2 {
			if v, ok := st.get(kv[i]); !ok || v != kv[i+1] {
				t.Fatalf("tracestate %v: %s = %q, %v; want %q", st, kv[i], v, ok, kv[i+1])
			}
		}
	}
}

func w3cLacks(keys ...string) func(*testing.T, w3cParent, w3cState) {
	return func(t *testing.T, tp w3cParent, st w3cState) {
		t.Helper()
		for _, k := range keys {
			if v, ok := st.get(k); ok {
				t.Fatalf("tracestate %v kept %s=%q; want it discarded", st, k, v)
			}
		}
	}
}

func w3cFlags(want string) func(*testing.T, w3cParent, w3cState) {
	return func(t *testing.T, tp w3cParent, st w3cState) {
		t.Helper()
		w3cSameTrace(t, tp, st)
		if tp.flags != want {
			t.Fatalf("trace-flags %s, want %s", tp.flags, want)
		}
	}
}

func w3cTP(s string) [2]string { return [2]string{"traceparent", s} }
func w3cTS(s string) [2]string { return [2]string{"tracestate", s} }

var w3cValid00 = w3cTP("00-" + w3cTID + "-" + w3cPID + "-00")

func TestW3CTraceContextSuite(t *testing.T) {
	h := w3cStart(t)
	keyWithoutVendor := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
	var value strings.Builder
	for c := 0x20; c <= 0x7e; c++ {
		if c != 0x2c && c != 0x3d {
			value.WriteByte(byte(c))
		}
	}
	members := func(from, to int) string {
		var ms []string
		for i := from; i <= to; i++ {
			ms = append(ms, fmt.Sprintf("bar%02d=%02d", i, i))
		}
		return strings.Join(ms, ",")
	}
	tests := []struct {
		name    string
		headers [][2]string
		check   func(*testing.T, w3cParent, w3cState)
	}{
		{"both traceparent and tracestate missing", nil, func(*testing.T, w3cParent, w3cState) {}},
		{"traceparent included, tracestate missing", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01")}, w3cSameTrace},
		{"traceparent duplicated", [][2]string{w3cTP("00-12345678901234567890123456789011-" + w3cPID + "-01"), w3cTP("00-" + w3cTID + "-" + w3cPID + "-01")},
			func(t *testing.T, tp w3cParent, st w3cState) {
				w3cNewTrace(t, tp, st)
				if tp.traceID == "12345678901234567890123456789011" {
					t.Fatal("continued the first traceparent")
				}
			}},
		{"header name trace-parent", [][2]string{{"trace-parent", "00-" + w3cTID + "-" + w3cPID + "-01"}}, w3cNewTrace},
		{"header name trace.parent", [][2]string{{"trace.parent", "00-" + w3cTID + "-" + w3cPID + "-01"}}, w3cNewTrace},
		{"header name TraceParent", [][2]string{{"TraceParent", "00-" + w3cTID + "-" + w3cPID + "-01"}}, w3cSameTrace},
		{"header name TrAcEpArEnT", [][2]string{{"TrAcEpArEnT", "00-" + w3cTID + "-" + w3cPID + "-01"}}, w3cSameTrace},
		{"header name TRACEPARENT", [][2]string{{"TRACEPARENT", "00-" + w3cTID + "-" + w3cPID + "-01"}}, w3cSameTrace},
		{"version 0x00 trailing dot", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01.")}, w3cNewTrace},
		{"version 0x00 extra field", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01-what-the-future-will-be-like")}, w3cNewTrace},
		{"version 0x00 trailing dash", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01-")}, w3cNewTrace},
		{"version 0xcc", [][2]string{w3cTP("cc-" + w3cTID + "-" + w3cPID + "-01")}, w3cSameTrace},
		{"version 0xcc extra field", [][2]string{w3cTP("cc-" + w3cTID + "-" + w3cPID + "-01-what-the-future-will-be-like")}, w3cSameTrace},
		{"version 0xcc bad delimiter", [][2]string{w3cTP("cc-" + w3cTID + "-" + w3cPID + "-01.what-the-future-will-be-like")}, w3cNewTrace},
		{"version 0xff", [][2]string{w3cTP("ff-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version illegal .0", [][2]string{w3cTP(".0-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version illegal 0.", [][2]string{w3cTP("0.-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version too long 000", [][2]string{w3cTP("000-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version too long 0000", [][2]string{w3cTP("0000-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version too short", [][2]string{w3cTP("0-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"version uppercase", [][2]string{w3cTP("CC-" + w3cTID + "-" + w3cPID + "-01")}, w3cNewTrace},
		{"trace-id all zero", [][2]string{w3cTP("00-00000000000000000000000000000000-" + w3cPID + "-01")},
			func(t *testing.T, tp w3cParent, _ w3cState) {}}, // w3cTraceparent already refuses zeros
		{"trace-id illegal leading", [][2]string{w3cTP("00-.2345678901234567890123456789012-" + w3cPID + "-01")}, w3cNewTrace},
		{"trace-id illegal trailing", [][2]string{w3cTP("00-1234567890123456789012345678901.-" + w3cPID + "-01")}, w3cNewTrace},
		{"trace-id uppercase", [][2]string{w3cTP("00-ABCDEF78901234567890123456789012-" + w3cPID + "-01")},
			func(t *testing.T, tp w3cParent, _ w3cState) {
				if tp.traceID == "abcdef78901234567890123456789012" {
					t.Fatal("accepted an uppercase trace-id")
				}
			}},
		{"trace-id too long", [][2]string{w3cTP("00-123456789012345678901234567890123-" + w3cPID + "-01")}, w3cNewTrace},
		{"trace-id too short", [][2]string{w3cTP("00-1234567890123456789012345678901-" + w3cPID + "-01")}, w3cNewTrace},
		{"parent-id all zero", [][2]string{w3cTP("00-" + w3cTID + "-0000000000000000-01")}, w3cNewTrace},
		{"parent-id illegal leading", [][2]string{w3cTP("00-" + w3cTID + "-.234567890123456-01")}, w3cNewTrace},
		{"parent-id illegal trailing", [][2]string{w3cTP("00-" + w3cTID + "-123456789012345.-01")}, w3cNewTrace},
		{"parent-id too long", [][2]string{w3cTP("00-" + w3cTID + "-12345678901234567-01")}, w3cNewTrace},
		{"parent-id too short", [][2]string{w3cTP("00-" + w3cTID + "-123456789012345-01")}, w3cNewTrace},
		{"trace-flags illegal .0", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-.0")}, w3cNewTrace},
		{"trace-flags illegal 0.", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-0.")}, w3cNewTrace},
		{"trace-flags too long", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-001")}, w3cNewTrace},
		{"trace-flags too short", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-1")}, w3cNewTrace},
		{"OWS leading space", [][2]string{w3cTP(" 00-" + w3cTID + "-" + w3cPID + "-01")}, w3cSameTrace},
		{"OWS leading tab", [][2]string{w3cTP("\t00-" + w3cTID + "-" + w3cPID + "-01")}, w3cSameTrace},
		{"OWS trailing space", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01 ")}, w3cSameTrace},
		{"OWS trailing tab", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01\t")}, w3cSameTrace},
		{"OWS both", [][2]string{w3cTP("\t 00-" + w3cTID + "-" + w3cPID + "-01 \t")}, w3cSameTrace},
		{"tracestate without traceparent is discarded", [][2]string{w3cTS("foo=1,bar=2")}, w3cLacks("foo", "bar")},
		{"tracestate inherited", [][2]string{w3cValid00, w3cTS("foo=1,bar=2")}, w3cHas("foo", "1", "bar", "2")},
		{"tracestate name trace-state", [][2]string{w3cValid00, {"trace-state", "foo=1"}}, w3cLacks("foo")},
		{"tracestate name trace.state", [][2]string{w3cValid00, {"trace.state", "foo=1"}}, w3cLacks("foo")},
		{"tracestate name TraceState", [][2]string{w3cValid00, {"TraceState", "foo=1"}}, w3cHas("foo", "1")},
		{"tracestate name TrAcEsTaTe", [][2]string{w3cValid00, {"TrAcEsTaTe", "foo=1"}}, w3cHas("foo", "1")},
		{"tracestate name TRACESTATE", [][2]string{w3cValid00, {"TRACESTATE", "foo=1"}}, w3cHas("foo", "1")},
		{"tracestate empty", [][2]string{w3cValid00, w3cTS("")}, func(t *testing.T, tp w3cParent, st w3cState) {
			w3cSameTrace(t, tp, st)
			if len(st.keys) != 0 {
				t.Fatalf("tracestate %v from an empty header", st)
			}
		}},
		{"tracestate empty then foo", [][2]string{w3cValid00, w3cTS(""), w3cTS("foo=1")}, w3cHas("foo", "1")},
		{"tracestate foo then empty", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS("")}, w3cHas("foo", "1")},
		{"tracestate multiple headers keep order", [][2]string{w3cValid00, w3cTS("foo=1,bar=2"), w3cTS("rojo=1,congo=2"), w3cTS("baz=3")},
			func(t *testing.T, tp w3cParent, st w3cState) {
				w3cSameTrace(t, tp, st)
				if got := strings.Join(st.keys, ","); got != "foo,bar,rojo,congo,baz" {
					t.Fatalf("tracestate keys %s, want foo,bar,rojo,congo,baz", got)
				}
			}},
		// The stock propagator drops a list that gives a key twice; ctxtrail's TraceContext keeps
		// the first member (TestW3CTracestateDuplicatedKeys).
		{"tracestate duplicated keys foo=1,foo=1", [][2]string{w3cValid00, w3cTS("foo=1,foo=1")}, w3cLacks("foo")},
		{"tracestate duplicated keys foo=1,foo=2", [][2]string{w3cValid00, w3cTS("foo=1,foo=2")}, w3cLacks("foo")},
		{"tracestate duplicated keys across headers", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS("foo=1")}, w3cLacks("foo")},
		{"tracestate duplicated keys differing across headers", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS("foo=2")}, w3cLacks("foo")},
		{"tracestate all allowed characters", [][2]string{w3cValid00, w3cTS(keyWithoutVendor + "=" + value.String())}, w3cHas(keyWithoutVendor, value.String())},
		{"tracestate all allowed characters with vendor", [][2]string{w3cValid00, w3cTS(keyWithoutVendor + "@a-z0-9_-*/=" + value.String())},
			w3cHas(keyWithoutVendor+"@a-z0-9_-*/", value.String())},
		{"tracestate OWS around members", [][2]string{w3cValid00, w3cTS("foo=1 \t , \t bar=2, \t baz=3")}, w3cHas("foo", "1", "bar", "2", "baz", "3")},
		{"tracestate OWS tabs", [][2]string{w3cValid00, w3cTS("foo=1\t \t,\t \tbar=2,\t \tbaz=3")}, w3cHas("foo", "1", "bar", "2", "baz", "3")},
		{"tracestate OWS leading space", [][2]string{w3cValid00, w3cTS(" foo=1")}, w3cHas("foo", "1")},
		{"tracestate OWS leading tab", [][2]string{w3cValid00, w3cTS("\tfoo=1")}, w3cHas("foo", "1")},
		{"tracestate OWS trailing space", [][2]string{w3cValid00, w3cTS("foo=1 ")}, w3cHas("foo", "1")},
		{"tracestate OWS trailing tab", [][2]string{w3cValid00, w3cTS("foo=1\t")}, w3cHas("foo", "1")},
		{"tracestate OWS both", [][2]string{w3cValid00, w3cTS("\t foo=1 \t")}, w3cHas("foo", "1")},
		{"tracestate whitespace-only member (Level 2)", [][2]string{w3cValid00, w3cTS("foo=1, \t ,bar=2")}, w3cHas("foo", "1", "bar", "2")},
		{"tracestate key with space", [][2]string{w3cValid00, w3cTS("foo =1")}, w3cLacks("foo ", "foo")},
		{"tracestate key uppercase", [][2]string{w3cValid00, w3cTS("FOO=1")}, w3cLacks("FOO")},
		{"tracestate key with dot", [][2]string{w3cValid00, w3cTS("foo.bar=1")}, w3cLacks("foo.bar")},
		{"tracestate vendor empty", [][2]string{w3cValid00, w3cTS("foo@=1,bar=2")}, w3cLacks("bar")},
		{"tracestate tenant empty", [][2]string{w3cValid00, w3cTS("@foo=1,bar=2")}, w3cLacks("bar")},
		{"tracestate double at", [][2]string{w3cValid00, w3cTS("foo@@bar=1,bar=2")}, w3cLacks("bar")},
		{"tracestate two ats", [][2]string{w3cValid00, w3cTS("foo@bar@baz=1,bar=2")}, w3cLacks("bar")},
		{"tracestate 32 members", [][2]string{w3cValid00, w3cTS(members(1, 10)), w3cTS(members(11, 20)), w3cTS(members(21, 30)), w3cTS(members(31, 32))},
			func(t *testing.T, tp w3cParent, st w3cState) {
				w3cHas("bar01", "01")(t, tp, st)
				if len(st.keys) != 32 {
					t.Fatalf("%d members, want 32", len(st.keys))
				}
			}},
		{"tracestate 33 members", [][2]string{w3cValid00, w3cTS(members(1, 10)), w3cTS(members(11, 20)), w3cTS(members(21, 30)), w3cTS(members(31, 33))}, w3cLacks("bar01")},
		{"tracestate key 256", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS(strings.Repeat("z", 256) + "=1")}, w3cHas("foo", "1")},
		{"tracestate key 257", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS(strings.Repeat("z", 257) + "=1")}, w3cLacks("foo")},
		{"tracestate tenant 241 vendor 14", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS(strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1")}, w3cHas("foo", "1")},
		{"tracestate tenant 242", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS(strings.Repeat("t", 242) + "@v=1")}, w3cLacks("foo")},
		{"tracestate vendor 15", [][2]string{w3cValid00, w3cTS("foo=1"), w3cTS("t@" + strings.Repeat("v", 15) + "=1")}, w3cLacks("foo")},
		{"tracestate value with equals", [][2]string{w3cValid00, w3cTS("foo=bar=baz")}, w3cLacks("foo")},
		{"tracestate empty value", [][2]string{w3cValid00, w3cTS("foo=,bar=3")}, w3cLacks("foo", "bar")},
		// Level 2: the random flag (0x02) is kept as received, beside the sampling decision.
		{"random and sampled", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-03")}, w3cFlags("03")},
		{"random, not sampled", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-02")}, w3cFlags("02")},
		{"sampled, not random", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01")}, w3cFlags("01")},
		{"future version keeps random, downgrades to 00", [][2]string{w3cTP("cc-" + w3cTID + "-" + w3cPID + "-07-future")}, w3cFlags("03")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := h.send(t, 1, tt.headers)
			tt.check(t, w3cTraceparent(t, seen[0]), w3cTracestate(seen[0]))
		})
	}
}

// TestW3CTracestateWithoutTraceparentMatchesNone is the suite's
// test_tracestate_included_traceparent_missing: the tracestate is discarded either way.
func TestW3CTracestateWithoutTraceparentMatchesNone(t *testing.T) {
	h := w3cStart(t)
	one := w3cTracestate(h.send(t, 1, [][2]string{w3cTS("foo=1")})[0])
	two := w3cTracestate(h.send(t, 1, [][2]string{w3cTS("foo=1,bar=2")})[0])
	if len(one.keys) != len(two.keys) {
		t.Fatalf("tracestate kept: %v vs %v", one, two)
	}
}

// TestW3CMultipleCallbacks is the suite's AdvancedTest: three callbacks from one request share
// the trace and each has its own parent-id.
func TestW3CMultipleCallbacks(t *testing.T) {
	h := w3cStart(t)
	tests := []struct {
		name      string
		headers   [][2]string
		wantTrace string
	}{
		{"valid traceparent", [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-01")}, w3cTID},
		{"no traceparent", nil, ""},
		{"illegal traceparent", [][2]string{w3cTP("00-00000000000000000000000000000000-" + w3cPID + "-01")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			traces, parents := map[string]bool{}, map[string]bool{}
			for _, s := range h.send(t, 3, tt.headers) {
				tp := w3cTraceparent(t, s)
				traces[tp.traceID], parents[tp.parentID] = true, true
			}
			if len(traces) != 1 || len(parents) != 3 {
				t.Fatalf("%d trace-ids and %d parent-ids over 3 callbacks, want 1 and 3", len(traces), len(parents))
			}
			if tt.wantTrace != "" && !traces[tt.wantTrace] {
				t.Fatalf("trace-ids %v, want %s", traces, tt.wantTrace)
			}
		})
	}
}

// TestW3CNewTraceFlags documents what a new trace sends: sampled, without the random flag. The
// Go SDK (v1.47) starts root spans with flags from the zero parent and its IDGenerator cannot
// return flags, so the Level 2 SHOULD to set random on random trace IDs is not met for roots;
// the flag is never set falsely.
func TestW3CNewTraceFlags(t *testing.T) {
	h := w3cStart(t)
	if tp := w3cTraceparent(t, h.send(t, 1, nil)[0]); tp.flags != "01" {
		t.Fatalf("root trace-flags %s, want 01", tp.flags)
	}
}

// TestW3CReservedFlagsRestart documents the Go SDK's reading of version 00 with reserved flag
// bits (0x04 and up) set: the traceparent is refused and a new trace starts.
func TestW3CReservedFlagsRestart(t *testing.T) {
	h := w3cStart(t)
	tp := w3cTraceparent(t, h.send(t, 1, [][2]string{w3cTP("00-" + w3cTID + "-" + w3cPID + "-05")})[0])
	if tp.traceID == w3cTID {
		t.Fatal("version 00 with reserved flags continued the trace")
	}
}
