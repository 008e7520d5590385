package wire_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/wire"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestMetadataReadsLikeHeaderCarrier: gRPC metadata (lowercase keys) is read exactly as the
// same fields in HTTP headers are.
func TestMetadataReadsLikeHeaderCarrier(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tt := range []struct {
		name   string
		fields map[string][]string
	}{
		{"one traceparent", map[string][]string{"traceparent": {tp}}},
		{"two traceparents", map[string][]string{"traceparent": {tp, tp}}},
		{"padded traceparent", map[string][]string{"traceparent": {" \t" + tp + " "}}},
		{"tracestate fields", map[string][]string{"tracestate": {"a=1", " ,b=2"}}},
		{"baggage fields", map[string][]string{"baggage": {"k=v", "bad member, x=y"}}},
		{"too many baggage fields", map[string][]string{"baggage": make([]string, 65)}},
		{"non-ASCII request id", map[string][]string{"x-request-id": {"\u00e9t\u00e9"}}},
		{"repeated x-trace-id", map[string][]string{"x-trace-id": {"a", "b"}}},
		{"other key", map[string][]string{"user-agent": {"grpc-go", "x"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, hdr := map[string][]string{}, http.Header{}
			for k, vs := range tt.fields {
				raw[k] = vs
				hdr[http.CanonicalHeaderKey(k)] = vs
			}
			md := wire.ReadMetadata(raw)
			for _, k := range []string{"traceparent", "Tracestate", "baggage", "x-trace-id", "X-Request-Id", "user-agent"} {
				if got, want := md.Get(k), propagators.HeaderCarrier(hdr).Get(k); got != want {
					t.Errorf("Get(%q) = %q, propagators.HeaderCarrier says %q", k, got, want)
				}
			}
		})
	}
	var empty wire.Metadata
	empty.Set("x", "y") // a no-op, no panic
	raw := map[string][]string{"x-request-id": {"a"}}
	md := wire.ReadMetadata(raw)
	md.Set("X-Request-Id", "r") // read-only: grpc-go's metadata is never written
	if v := raw["x-request-id"]; len(v) != 1 || v[0] != "a" || len(md.Keys()) != 1 || md.Get("x-request-id") != "a" {
		t.Errorf("Set changed the metadata: %v", raw)
	}
}

// TestServerExtract: the shared server step extracts, counts each bad header once, and always
// settles a request ID, whichever propagator and carrier.
func TestServerExtract(t *testing.T) {
	var warnings []string
	l := propagators.NewWarnLimiter(time.Nanosecond, func(err error) { warnings = append(warnings, err.Error()) })
	md := wire.ReadMetadata(map[string][]string{
		"traceparent":  {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "again"},
		"baggage":      {strings.Repeat("k=v,", 100)},
		"x-request-id": {"no spaces allowed"},
	})
	for _, prop := range []propagation.TextMapPropagator{propagators.New(), propagation.NewCompositeTextMapPropagator(
		propagators.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})} {
		warnings = warnings[:0]
		l = propagators.NewWarnLimiter(time.Nanosecond, func(err error) { warnings = append(warnings, err.Error()) })
		s := wire.Server{Prop: prop, Warn: l}
		in := s.Extract(context.Background(), md, md.Fields(), false, false)
		if !otelctx.ValidRequestID(in.RequestID) || in.Caller.Valid() || in.Linked {
			t.Errorf("%T: request ID %q, caller %v, linked %v", prop, in.RequestID, in.Caller, in.Linked)
		}
		if len(warnings) != 3 || l.Total() != 3 {
			t.Errorf("%T: warnings %q, want three (traceparent, baggage, x-request-id)", prop, warnings)
		}
	}
	s := wire.Server{Warn: (*propagators.WarnLimiter)(nil)} // the global propagator, nothing counted
	ok := wire.ReadMetadata(map[string][]string{"x-request-id": {"ok-1"}})
	if in := s.Extract(context.Background(), ok, ok.Fields(), false, false); in.RequestID != "ok-1" {
		t.Errorf("request ID %q", in.RequestID)
	}
}

// TestServerExtractAtTrustBoundary: at a trust boundary the caller's span context becomes a link
// without tracestate, the baggage is cut to the allowlist, and the caller's request ID is
// replaced and handed back as the caller's; with TrustRequestID it is adopted.
func TestServerExtractAtTrustBoundary(t *testing.T) {
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("tracestate", "congo=t61rcWkgMzE")
	h.Set("baggage", "keep=1,drop=2,user.id=bad%20id")
	h.Set("x-request-id", "edge-1")
	for _, holdParent := range []bool{false, true} {
		s := wire.Server{Prop: propagators.New(), Warn: (*propagators.WarnLimiter)(nil), Allow: wire.AllowList([]string{"keep", "keep", "", "user.id"})}
		in := s.Extract(context.Background(), propagators.HeaderCarrier(h), wire.HeaderFields(h), true, holdParent)
		if !in.Linked || in.Link.SpanContext.SpanID().String() != "00f067aa0ba902b7" || in.Link.SpanContext.TraceState().Len() != 0 {
			t.Errorf("hold %v: link %+v", holdParent, in.Link)
		}
		if got := baggage.FromContext(in.Context).String(); got != "keep=1" {
			t.Errorf("hold %v: baggage %q, want keep=1", holdParent, got)
		}
		if in.RequestID == "edge-1" || in.Caller.Key != otelctx.AttrCallerRequestID || in.Caller.Value.AsString() != "edge-1" {
			t.Errorf("hold %v: request ID %q, caller %v", holdParent, in.RequestID, in.Caller)
		}
		if holdParent != in.Parent.IsValid() || holdParent == trace.SpanContextFromContext(in.Context).IsValid() {
			t.Errorf("hold %v: parent %v, in context %v", holdParent, in.Parent, trace.SpanContextFromContext(in.Context))
		}
		s.TrustRequestID = true
		if in := s.Extract(context.Background(), propagators.HeaderCarrier(h), wire.HeaderFields(h), true, holdParent); in.RequestID != "edge-1" || in.Caller.Valid() {
			t.Errorf("trusted: request ID %q, caller %v", in.RequestID, in.Caller)
		}
	}
}

// TestFusedExtractMatchesComposite: Server.Extract's one-pass extraction for propagators.New
// gives the remote parent, baggage, tracestate and request ID the composite's Extract gives.
func TestFusedExtractMatchesComposite(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	composite := propagation.NewCompositeTextMapPropagator(propagators.TraceContext{}, propagation.Baggage{}, propagators.XTrace{})
	for _, kv := range [][]string{
		{},
		{"traceparent", tp, "tracestate", "rojo=1,1vendor=x", "baggage", "k=v", "x-request-id", "r-1"},
		{"traceparent", tp, "tracestate", "rojo=1"},
		{"x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736", "x-span-id", "bad"},
		{"traceparent", "00-xyz", "x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736", "x-span-id", "00f067aa0ba902b7"},
		{"traceparent", tp, "traceparent", tp, "x-request-id", "bad id"},
	} {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		want := composite.Extract(context.Background(), propagators.HeaderCarrier(h))
		for _, holdParent := range []bool{false, true} {
			s := wire.Server{Prop: propagators.New(), Warn: (*propagators.WarnLimiter)(nil)}
			in := s.Extract(context.Background(), propagators.HeaderCarrier(h), wire.HeaderFields(h), false, holdParent)
			parent := in.Parent
			if !parent.IsValid() && !parent.TraceID().IsValid() {
				parent = trace.SpanContextFromContext(in.Context)
			}
			if w := trace.SpanContextFromContext(want); !parent.Equal(w) {
				t.Errorf("%q hold %v: parent %v, composite %v", kv, holdParent, parent, w)
			}
			if got, w := baggage.FromContext(in.Context).String(), baggage.FromContext(want).String(); got != w {
				t.Errorf("%q: baggage %q, composite %q", kv, got, w)
			}
			if w := otelctx.RequestID(want); w != "" && in.RequestID != w {
				t.Errorf("%q: request ID %q, composite %q", kv, in.RequestID, w)
			}
			out, wout := http.Header{}, http.Header{}
			ctx := in.Context
			if in.Parent.IsValid() {
				ctx = trace.ContextWithRemoteSpanContext(ctx, in.Parent)
			}
			propagators.TraceContext{}.Inject(ctx, propagators.HeaderCarrier(out))
			propagators.TraceContext{}.Inject(want, propagators.HeaderCarrier(wout))
			if out.Get("tracestate") != wout.Get("tracestate") {
				t.Errorf("%q: tracestate %q, composite %q", kv, out.Get("tracestate"), wout.Get("tracestate"))
			}
		}
	}
}

// The x-header names wire reads are the public ones.
func TestHeaderNames(t *testing.T) {
	if wire.TraceID != propagators.HeaderTraceID || wire.SpanID != propagators.HeaderSpanID || wire.RequestID != propagators.HeaderRequestID {
		t.Fatal("wire's x-header names differ from propagators'")
	}
}
