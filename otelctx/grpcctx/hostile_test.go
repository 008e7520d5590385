package grpcctx_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

const (
	goodTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	goodParent  = "00-" + goodTraceID + "-00f067aa0ba902b7-01"
)

// rawCall sends EmptyCall over plain HTTP/2 with the given header fields, which a grpc-go
// client would refuse to send (non-ASCII values), and returns the grpc-status trailer.
func rawCall(t *testing.T, addr string, fields [][2]string) string {
	t.Helper()
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/grpc.testing.TestService/EmptyCall",
		bytes.NewReader([]byte{0, 0, 0, 0, 0})) // one uncompressed, empty message
	if err != nil {
		t.Fatal(err)
	}
	req.Header["Content-Type"] = []string{"application/grpc"}
	req.Header["Te"] = []string{"trailers"}
	for _, f := range fields {
		req.Header[f[0]] = append(req.Header[f[0]], f[1])
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if s := resp.Trailer.Get("Grpc-Status"); s != "" {
		return s
	}
	return resp.Header.Get("Grpc-Status")
}

// TestHostileMetadata: metadata no grpc-go client would send reaches a real server over
// HTTP/2. Each case starts a fresh trace (never the sender's), gets a safe request ID, answers
// OK, and is counted as exactly one warning. The server allows grpc-go's default 16 MiB of
// metadata, so that the larger cases reach the handler, whose own bounds are tested here:
// ServerOptions' 64 KiB refuses them before (TestMetadataBound).
func TestHostileMetadata(t *testing.T) {
	r := startRigWith(t, nil, nil, grpc.MaxHeaderListSize(16<<20))
	many := make([][2]string, 1000)
	for i := range many {
		many[i] = [2]string{"traceparent", goodParent}
	}
	for _, tt := range []struct {
		name   string
		fields [][2]string
	}{
		{"1000 traceparents", many},
		{"non-ASCII traceparent", [][2]string{{"traceparent", "00-" + goodTraceID + "-00f067aa0ba902b7-0\u00e9"}}},
		{"oversized traceparent", [][2]string{{"traceparent", goodParent + "-" + strings.Repeat("a", 64<<10)}}},
		{"non-ASCII x-trace-id", [][2]string{{"x-trace-id", strings.Repeat("\u00e9", 16)}}},
		{"oversized baggage", [][2]string{{"baggage", "k=" + strings.Repeat("v", 9000)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := r.warn.Total()
			if st := rawCall(t, r.addr, tt.fields); st != "0" {
				t.Fatalf("grpc-status %q, want 0", st)
			}
			got := r.call(t)
			if got.span.TraceID().String() == goodTraceID || !got.span.IsValid() {
				t.Errorf("trace %s: want a fresh, valid trace", got.span.TraceID())
			}
			if !otelctx.ValidRequestID(got.requestID) {
				t.Errorf("request ID %q", got.requestID)
			}
			if baggage.FromContext(got.ctx).Len() != 0 {
				t.Error("baggage adopted from hostile metadata")
			}
			if n := r.warn.Total() - before; n != 1 {
				t.Errorf("%d warnings, want 1", n)
			}
		})
	}
	t.Run("binary keys are not trace headers", func(t *testing.T) {
		before := r.warn.Total()
		// A -bin key is base64 on the wire; grpc decodes it. It must not be read as traceparent.
		if st := rawCall(t, r.addr, [][2]string{{"traceparent-bin", "AAECAw"}}); st != "0" {
			t.Fatalf("grpc-status %q", st)
		}
		got := r.call(t)
		if got.span.TraceID().String() == goodTraceID || r.warn.Total() != before {
			t.Errorf("trace %s, %d warnings", got.span.TraceID(), r.warn.Total()-before)
		}
	})
}

// TestTrustBoundary: a public server never adopts the caller's trace, links to it, and keeps
// only the allowed baggage; the request ID still comes through.
func TestTrustBoundary(t *testing.T) {
	r := startRig(t, []grpcctx.Option{grpcctx.WithTrustBoundary("tenant.id")}, nil)
	ctx, parent := r.cliTP.Tracer("test").Start(context.Background(), "caller")
	defer parent.End()
	ctx = otelctx.WithRequestID(ctx, "req-7")
	m1, _ := baggage.NewMember("tenant.id", "acme")
	m2, _ := baggage.NewMember("role", "admin")
	b, _ := baggage.New(m1, m2)
	ctx = baggage.ContextWithBaggage(ctx, b)
	if _, err := r.client.EmptyCall(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	srv := ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
	if got.span.TraceID() == parent.SpanContext().TraceID() || srv.Parent().IsValid() {
		t.Error("the caller's trace was adopted at a trust boundary")
	}
	if l := srv.Links(); len(l) != 1 || l[0].SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("links %v, want one to the caller's trace", l)
	}
	bag := baggage.FromContext(got.ctx)
	if bag.Len() != 1 || bag.Member("tenant.id").Value() != "acme" {
		t.Errorf("baggage %q, want only tenant.id", bag.String())
	}
	// The caller chose req-7: the RPC runs under its own ID and keeps the caller's beside it.
	if got.requestID == "req-7" || !otelctx.ValidRequestID(got.requestID) {
		t.Errorf("request ID %q, want a new one", got.requestID)
	}
	if got.fields[otelctx.AttrCallerRequestID] != "req-7" {
		t.Errorf("request store %v, want %s=req-7", got.fields, otelctx.AttrCallerRequestID)
	}
	if v, _ := attrOf(srv, otelctx.AttrCallerRequestID); v != "req-7" {
		t.Errorf("server span %s = %q, want req-7", otelctx.AttrCallerRequestID, v)
	}
	for _, l := range srv.Links() {
		if l.SpanContext.TraceState().Len() != 0 {
			t.Error("the link carries the caller's tracestate")
		}
	}
}

// TestTrustedRequestID: WithTrustedRequestID adopts the caller's safe ID at a trust boundary.
func TestTrustedRequestID(t *testing.T) {
	r := startRig(t, []grpcctx.Option{grpcctx.WithTrustBoundary(), grpcctx.WithTrustedRequestID()}, nil)
	if _, err := r.client.EmptyCall(otelctx.WithRequestID(context.Background(), "req-8"), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if got := r.call(t); got.requestID != "req-8" {
		t.Errorf("request ID %q, want req-8", got.requestID)
	}
}

// TestAllocHostileMetadata: a thousand traceparents cost the server handler no more
// allocations than one valid traceparent: the carrier refuses them without copying or parsing
// each.
func TestAllocHostileMetadata(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	h := grpcctx.NewServerHandler(grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()),
		grpcctx.WithWarnLimiter(propagators.NewWarnLimiter(0, func(error) {})))
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/EmptyCall"}
	measure := func(md metadata.MD) float64 {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		return testing.AllocsPerRun(200, func() {
			c := h.TagRPC(ctx, info)
			h.HandleRPC(c, &stats.End{})
			_ = trace.SpanFromContext(c)
		})
	}
	good := measure(metadata.MD{"traceparent": {goodParent}})
	vals := make([]string, 1000)
	for i := range vals {
		vals[i] = goodParent
	}
	hostile := measure(metadata.MD{"traceparent": vals, "baggage": vals[:100], "x-trace-id": vals[:10]})
	t.Logf("allocations per RPC: valid traceparent %.0f, hostile metadata %.0f", good, hostile)
	if hostile > good+4 {
		t.Errorf("hostile metadata costs %.0f allocations, a valid one %.0f: want at most 4 more", hostile, good)
	}
}
