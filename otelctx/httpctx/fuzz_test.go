package httpctx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Fuzz targets for every parser that reads the network: traceparent and tracestate through
// HeaderCarrier, baggage, the x-headers, the request ID, and the whole middleware. Run one with
// go test -fuzz FuzzTraceparent -fuzztime 30s ./otelctx/httpctx; without -fuzz the seeds below run as
// ordinary tests.

const (
	fzTP   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	fzTID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	fzSID  = "00f067aa0ba902b7"
	fzBig  = 9 << 10 // past the 8 KiB the issue asks for
	fzCRLF = "\r\n"
)

// fzSeeds are the hostile values every target starts from.
func fzSeeds() []string {
	return []string{
		"",
		fzTP,
		"\x80\x80\x80",
		"00-" + strings.Repeat("\x80", 32) + "-" + fzSID + "-01",
		"%zz", "%", "%8", "k=%zz", "k=v%", "k=%C3%28",
		"a" + fzCRLF + "Set-Cookie: x=1",
		fzTP + fzCRLF,
		"\r", "\n",
		strings.Repeat("a", fzBig),
		strings.Repeat("k=v,", fzBig/4),
		"00-" + strings.Repeat("f", fzBig),
		"cc-" + fzTID + "-" + fzSID + "-03-future",
		"ff-" + fzTID + "-" + fzSID + "-01",
		"00-" + fzTID + "-" + fzSID + "-01-",
		"00-" + fzTID + "-" + fzSID + "-ff",
		"foo=1, \t ,bar=2",
		"a@b=1,a@b=2",
		"k;p=1", "=v", "k=", " k = v ; p",
		fzTID, fzSID, strings.ToUpper(fzTID),
	}
}

func FuzzTraceparent(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s, "", "foo=1", "")
		f.Add(s, s, s, s)
	}
	f.Add(fzTP, "", strings.Repeat("a=1,", 40), "b=2")
	f.Fuzz(func(t *testing.T, tp1, tp2, ts1, ts2 string) {
		h := http.Header{"Traceparent": {tp1}, "Tracestate": {ts1, ts2}}
		if tp2 != "" {
			h["Traceparent"] = append(h["Traceparent"], tp2)
		}
		c := propagators.HeaderCarrier(h)
		ctx := propagation.TraceContext{}.Extract(context.Background(), c)
		sc := trace.SpanContextFromContext(ctx)
		v := c.Get("traceparent")
		if want := tp2 == "" && wire.ValidTraceparent(v); sc.IsValid() != want {
			t.Fatalf("SDK extract valid=%v, wire.ValidTraceparent=%v for %q", sc.IsValid(), want, h["Traceparent"])
		}
		// The handlers' own parse (internal/wire) gives exactly the SDK's span context.
		if got := wire.ParseTraceparent(v, c.Get("tracestate")); !got.Equal(sc) {
			t.Fatalf("wire.ParseTraceparent gave %+v, the SDK %+v, for %q %q", got, sc, h["Traceparent"], h["Tracestate"])
		}
		if !sc.IsValid() {
			if sc.TraceID().IsValid() || sc.SpanID().IsValid() {
				t.Fatalf("invalid input left a partial context %v", sc)
			}
			return
		}
		if sc.TraceID().String() != v[3:35] || sc.SpanID().String() != v[36:52] || !sc.IsRemote() {
			t.Fatalf("extracted %v from %q", sc, v)
		}
		if ts := c.Get("tracestate"); len(ts) > wire.MaxTracestateLen || sc.TraceState().Len() > wire.MaxTracestateMembers {
			t.Fatalf("tracestate out of bounds: %d bytes, %d members", len(ts), sc.TraceState().Len())
		}
		// What comes in valid goes out as a version 00 traceparent of the same trace.
		out := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, out)
		if !wire.ValidTraceparent(out["traceparent"]) || out["traceparent"][3:35] != v[3:35] {
			t.Fatalf("re-injected %q from %q", out["traceparent"], v)
		}
	})
}

func FuzzBaggage(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s, "k=v", uint16(1))
	}
	f.Add("k=v", "", uint16(1000))
	f.Add("k=v%zz,\x80=1", "ok=1", uint16(1000))
	f.Add("k=v", "", uint16(64))
	f.Fuzz(func(t *testing.T, b1, b2 string, repeat uint16) {
		n := int(repeat % 1100)
		vs := make([]string, 0, n+1)
		for i := 0; i < n; i++ {
			vs = append(vs, b1)
		}
		vs = append(vs, b2)
		c := propagators.HeaderCarrier(http.Header{"Baggage": vs})
		if got := c.Get("baggage"); len(got) > w3cbaggage.MaxBytes {
			t.Fatalf("Get passed %d bytes to the parser", len(got))
		}
		bag := baggage.FromContext(propagation.Baggage{}.Extract(context.Background(), c))
		if bag.Len() > w3cbaggage.MaxMembers {
			t.Fatalf("%d members extracted", bag.Len())
		}
		// The bounded reading agrees with the SDK's parser on single members, but for identifier
		// members, which it holds to a stricter rule.
		for _, m := range []string{b1, b2} {
			if strings.ContainsAny(m, ",;") || len(m) > w3cbaggage.MaxBytes || strings.TrimSpace(m) == "" {
				continue
			}
			parsed, err := baggage.Parse(m)
			sdkOK, ours := err == nil && parsed.Len() == 1, fzMemberKept(m)
			if sdkOK != ours && !(sdkOK && w3cbaggage.IDKey(parsed.Members()[0].Key())) {
				t.Fatalf("member %q: SDK accepts %v (%v), the bounded reading %v", m, sdkOK, err, ours)
			}
		}
	})
}

// fzMemberKept reports whether w3cbaggage.Scan keeps the one member m.
func fzMemberKept(m string) bool {
	kept := false
	w3cbaggage.Scan([]string{m}, func(_ string, _ w3cbaggage.Member, ok bool) bool { kept = ok; return false })
	return kept
}

func FuzzXHeaders(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s, fzSID, "", "req-1")
		f.Add(fzTID, s, s, s)
	}
	f.Fuzz(func(t *testing.T, tid, sid, tp, rid string) {
		h := http.Header{"X-Trace-Id": {tid}, "X-Span-Id": {sid}, "X-Request-Id": {rid}}
		if tp != "" {
			h["Traceparent"] = []string{tp}
		}
		c := propagators.HeaderCarrier(h)
		p := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagators.XTrace{})
		ctx := p.Extract(context.Background(), c)
		sc := trace.SpanContextFromContext(ctx)
		tcOnly := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), c))
		var id [16]byte
		switch {
		case tcOnly.IsValid():
			if !sc.Equal(tcOnly) {
				t.Fatalf("x-headers overrode a valid traceparent: %v vs %v", sc, tcOnly)
			}
		case wire.DecodeHexID(id[:], wire.TrimOWS(tid)):
			if sc.TraceID().String() != wire.TrimOWS(tid) || !sc.IsRemote() {
				t.Fatalf("x-trace-id %q extracted as %v", tid, sc)
			}
		default:
			if sc.TraceID().IsValid() {
				t.Fatalf("invalid x-trace-id %q extracted as %v", tid, sc)
			}
		}
		if got := otelctx.RequestID(ctx); got != "" && (!otelctx.ValidRequestID(got) || got != wire.TrimOWS(rid)) {
			t.Fatalf("request ID %q extracted from %q", got, rid)
		}
		// Injecting what was extracted never writes an unsafe header value.
		out := http.Header{}
		propagators.XTrace{}.Inject(ctx, propagators.HeaderCarrier(out))
		for k, vs := range out {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") || len(v) > otelctx.MaxRequestIDLen {
					t.Fatalf("injected %s: %q", k, v)
				}
			}
		}
	})
}

var fzRequestIDRe = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,128}$`)

func FuzzRequestID(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s)
	}
	f.Add("3f1c2a9e-7b4d-4c1e-9a52-0d6f8e2b1c3a")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := otelctx.ValidRequestID(s), fzRequestIDRe.MatchString(s); got != want {
			t.Fatalf("ValidRequestID(%q) = %v, want %v", s, got, want)
		}
		l := propagators.NewWarnLimiter(time.Hour, func(error) {})
		id, _ := wire.IncomingRequestID(context.Background(), propagation.MapCarrier{propagators.HeaderRequestID: s}, false, false, l)
		if refused := l.Total() > 0; !otelctx.ValidRequestID(id) || (!refused && id != s && s != "") || (refused && s == "") {
			t.Fatalf("IncomingRequestID(%q) = %q, refused %v", s, id, refused)
		}
	})
}

// FuzzHandler sends arbitrary headers and paths through the whole middleware: it never panics,
// always answers with a valid x-trace-id and x-request-id, and a trace it cannot read is a
// fresh one.
func FuzzHandler(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s, s, s, s, s, "/a/"+s, uint16(1))
	}
	f.Add(fzTP, "foo=1", "k=v", fzTID, "req-1", "/ok", uint16(1000))
	f.Add(fzTP, "foo=1", "k=v%zz", "", "a\r\nb", "/%zz", uint16(1000))
	tp := sdktrace.NewTracerProvider()
	limiter := propagators.NewWarnLimiter(time.Hour, func(error) {})
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if otelctx.RequestID(r.Context()) == "" || !trace.SpanContextFromContext(r.Context()).IsValid() {
			w.WriteHeader(http.StatusTeapot) // reported by the fuzz function
		}
	}), WithTracerProvider(tp), WithPropagator(mwPropagator()), WithWarnLimiter(limiter))
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag, xtid, rid, path string, repeat uint16) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		req.Header = http.Header{
			"Traceparent":  {traceparent},
			"Tracestate":   {tracestate},
			"X-Trace-Id":   {xtid},
			"X-Request-Id": {rid},
			"User-Agent":   {path},
		}
		for i := 0; i < int(repeat%1100); i++ {
			req.Header["Baggage"] = append(req.Header["Baggage"], bag)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusTeapot {
			t.Fatal("handler ran without a request ID or span")
		}
		got := w.Header().Get("x-trace-id")
		var id [16]byte
		if !wire.DecodeHexID(id[:], got) {
			t.Fatalf("x-trace-id %q", got)
		}
		if rid := w.Header().Get("x-request-id"); !otelctx.ValidRequestID(rid) {
			t.Fatalf("x-request-id %q", rid)
		}
		tpValid := wire.ValidTraceparent(propagators.HeaderCarrier(req.Header).Get("traceparent"))
		if !tpValid && !wire.DecodeHexID(id[:], wire.TrimOWS(xtid)) && strings.Contains(traceparent+xtid, got) {
			t.Fatalf("unreadable input %q / %q continued as trace %s", traceparent, xtid, got)
		}
	})
}
