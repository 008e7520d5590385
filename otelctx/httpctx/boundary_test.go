package httpctx

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/trace"
)

// TestTrustBoundaryLinkCarriesNoTracestate: the caller's tracestate must not reach an exported
// span through the link to its span.
func TestTrustBoundaryLinkCarriesNoTracestate(t *testing.T) {
	a, _, _ := mwChain(t, WithTrustBoundary())
	mwCall(t, a,
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate", "congo=t61rcWkgMzE,evil=smuggled")
	server := mwSpan(t, a, trace.SpanKindServer)
	links := server.Links()
	if len(links) != 1 || links[0].SpanContext.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("links %+v, want one to the incoming span", links)
	}
	if ts := links[0].SpanContext.TraceState(); ts.Len() != 0 {
		t.Fatalf("the link carries the caller's tracestate %q across the boundary", ts.String())
	}
	if !links[0].SpanContext.IsSampled() || !links[0].SpanContext.IsRemote() {
		t.Fatalf("link lost its flags: %+v", links[0].SpanContext)
	}
}

// TestTrustBoundaryRequestID: at a public endpoint the request runs under an ID the service
// made; the caller's safe ID is kept as a searchable attribute and field, never forwarded.
func TestTrustBoundaryRequestID(t *testing.T) {
	t.Run("caller ID kept beside a new one", func(t *testing.T) {
		a, b, c := mwChain(t, WithTrustBoundary())
		rep, hdr := mwCall(t, a, "x-request-id", "edge-1")
		if rep.RequestID == "edge-1" || !otelctx.ValidRequestID(rep.RequestID) || len(rep.RequestID) != 32 {
			t.Fatalf("request ID %q, want a new one", rep.RequestID)
		}
		mwCheckChain(t, a, b, c, rep, hdr, rep.RequestID) // echoed and forwarded: the new ID
		if v, ok := mwAttr(mwSpan(t, a, trace.SpanKindServer), otelctx.AttrCallerRequestID); !ok || v.AsString() != "edge-1" {
			t.Fatalf("server span %s = %q, %v; want the caller's ID", otelctx.AttrCallerRequestID, v.AsString(), ok)
		}
		if rep.Fields[otelctx.AttrCallerRequestID] != "edge-1" {
			t.Fatalf("request store %v lacks the caller's ID", rep.Fields)
		}
		for _, r := range []*mwReport{rep.Down, rep.Down.Down} {
			if _, ok := r.Fields[otelctx.AttrCallerRequestID]; ok || r.RequestID == "edge-1" {
				t.Fatalf("service %s saw the caller's ID: %+v", r.Service, r)
			}
		}
		if _, ok := mwAttr(mwSpan(t, b, trace.SpanKindServer), otelctx.AttrCallerRequestID); ok {
			t.Fatal("an internal service recorded a caller request ID")
		}
	})
	t.Run("unsafe caller ID not recorded", func(t *testing.T) {
		a, _, _ := mwChain(t, WithTrustBoundary())
		rep, _ := mwCall(t, a, "x-request-id", "a\"b")
		if _, ok := mwAttr(mwSpan(t, a, trace.SpanKindServer), otelctx.AttrCallerRequestID); ok {
			t.Fatal("unsafe caller ID recorded")
		}
		if !otelctx.ValidRequestID(rep.RequestID) {
			t.Fatalf("request ID %q", rep.RequestID)
		}
	})
	t.Run("trusted by option", func(t *testing.T) {
		a, b, c := mwChain(t, WithTrustBoundary(), WithTrustedRequestID())
		rep, hdr := mwCall(t, a, "x-request-id", "lb-7")
		mwCheckChain(t, a, b, c, rep, hdr, "lb-7")
		if _, ok := mwAttr(mwSpan(t, a, trace.SpanKindServer), otelctx.AttrCallerRequestID); ok {
			t.Fatal("trusted ID also recorded as the caller's")
		}
	})
	t.Run("internal handler adopts it", func(t *testing.T) {
		a, b, c := mwChain(t)
		rep, hdr := mwCall(t, a, "x-request-id", "edge-1")
		mwCheckChain(t, a, b, c, rep, hdr, "edge-1")
	})
}

// TestTracestateOverLimitsWarns sends tracestate lists W3C forbids to a real server: each is
// discarded (the traceparent still counts) and warned about, like a small malformed one.
func TestTracestateOverLimitsWarns(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	members := func(n int) string {
		m := make([]string, n)
		for i := range m {
			m[i] = "k" + strconv.Itoa(i) + "=v"
		}
		return strings.Join(m, ",")
	}
	lines := make([]string, 0, 100)
	for i := 0; i < 50; i++ {
		lines = append(lines, "tracestate", "k"+strconv.Itoa(i)+"=v")
	}
	tests := []struct {
		name string
		kv   []string
		warn bool
	}{
		{"32 members", []string{"tracestate", members(32)}, false},
		{"33 members", []string{"tracestate", members(33)}, true},
		{"1,000 members", []string{"tracestate", members(1000)}, true},
		{"100 KB value", []string{"tracestate", "k=" + strings.Repeat("v", 100<<10)}, true},
		{"50 header lines", lines, true},
		{"blank", []string{"tracestate", " , "}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s mwSink
			a := mwStart(t, "A", "", WithWarnLimiter(propagators.NewWarnLimiter(time.Hour, s.sink)))
			mwCall(t, a, append([]string{"traceparent", tp}, tt.kv...)...)
			server := mwSpan(t, a, trace.SpanKindServer)
			if server.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Fatal("the valid traceparent was not adopted")
			}
			r := s.reports()
			if !tt.warn {
				if len(r) != 0 {
					t.Fatalf("warned %v", r)
				}
				return
			}
			if n := server.SpanContext().TraceState().Len(); n != 0 {
				t.Fatalf("kept %d tracestate members of a list over the limits", n)
			}
			var hw *propagators.HeaderWarning
			if len(r) != 1 || !errors.As(r[0], &hw) || hw.Header != "tracestate" || !strings.Contains(hw.Reason, "limits") {
				t.Fatalf("reports %v, want one about tracestate over the limits", r)
			}
		})
	}
}
