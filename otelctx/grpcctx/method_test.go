package grpcctx

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// TestMethodCacheIsBounded: method names come from the wire, so a client probing a million
// unknown methods must not grow the cache past maxMethods; names past it still work.
func TestMethodCacheIsBounded(t *testing.T) {
	c := newMethodCache(trace.SpanKindServer)
	for i := range 3 * maxMethods {
		m := c.get(fmt.Sprintf("/probe.Service/M%d", i))
		if want := fmt.Sprintf("probe.Service/M%d", i); m.rpc.Value.AsString() != want {
			t.Fatalf("method %d: rpc.method %q, want %q", i, m.rpc.Value.AsString(), want)
		}
	}
	n := 0
	c.m.Range(func(any, any) bool { n++; return true })
	if n > maxMethods || c.n.Load() > maxMethods {
		t.Errorf("cache holds %d methods (counted %d), want at most %d", n, c.n.Load(), maxMethods)
	}
	if c.get("/probe.Service/M0") != c.get("/probe.Service/M0") {
		t.Error("a cached method is derived again")
	}
}

// TestSplitMethodBounds: a huge or invalid UTF-8 method name is cut and made valid.
func TestSplitMethodBounds(t *testing.T) {
	for _, full := range []string{
		"/" + strings.Repeat("s", 10000) + "/" + strings.Repeat("m", 10000),
		"/pkg.Svc/\xff\xfe",
		"no-slashes",
	} {
		name, service, method := splitMethod(full)
		if len(name) > maxMethodLen+3 || !utf8.ValidString(name) || !utf8.ValidString(service) || !utf8.ValidString(method) {
			t.Errorf("splitMethod(%.20q...) = %.20q (%d bytes)", full, name, len(name))
		}
	}
	if n, s, m := splitMethod("/grpc.testing.TestService/UnaryCall"); n != "grpc.testing.TestService/UnaryCall" || s != "grpc.testing.TestService" || m != "UnaryCall" {
		t.Errorf("got %q %q %q", n, s, m)
	}
}

// TestStatusAttr: rpc.response.status_code is the code's canonical name, and "CODE(n)" for a
// code gRPC does not define (a peer may send any number), as otelgrpc records it.
func TestStatusAttr(t *testing.T) {
	for code, want := range map[codes.Code]string{codes.OK: "OK", codes.Canceled: "CANCELLED",
		codes.Unauthenticated: "UNAUTHENTICATED", 17: "CODE(17)", 4000: "CODE(4000)"} {
		if got := statusAttr(code); got.Key != "rpc.response.status_code" || got.Value.AsString() != want {
			t.Errorf("code %d: %s=%q, want %q", code, got.Key, got.Value.AsString(), want)
		}
	}
}

// TestIncomingMetadata: the handler reads grpc-go's incoming metadata in place (the probe found
// grpc-go's key: if an upgrade stores it differently this fails, and the handler copies), and
// the copying fallback reads the same values.
func TestIncomingMetadata(t *testing.T) {
	if incomingKey == nil {
		t.Fatal("the incoming-metadata key was not found: every RPC copies the trace headers")
	}
	md := metadata.MD{"traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"x-request-id": {"a", "b"}, "baggage": {"k=v"}, "other": {"x"}}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	inPlace := incomingMetadata(ctx, nil)
	key := incomingKey
	incomingKey = nil
	copied := incomingMetadata(ctx, nil)
	empty := incomingMetadata(context.Background(), nil)
	incomingKey = key
	for _, k := range []string{"traceparent", "x-request-id", "baggage", "tracestate"} {
		if a, b := inPlace.Get(k), copied.Get(k); a != b {
			t.Errorf("%s: in place %q, copied %q", k, a, b)
		}
	}
	if inPlace.Get("traceparent") == "" || !slices.Contains(copied.Keys(), "x-request-id") || len(empty.Keys()) != 0 {
		t.Errorf("in place %v, copied %v, without metadata %v", inPlace, copied, empty)
	}
	if len(incomingMetadata(context.Background(), nil).Keys()) != 0 {
		t.Error("metadata without incoming metadata")
	}
}
