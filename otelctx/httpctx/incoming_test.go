package httpctx

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

// TestMetadataCarrierReadsLikeHeaderCarrier: gRPC metadata (lowercase keys) is read exactly as
// the same fields in HTTP headers are.
func TestMetadataCarrierReadsLikeHeaderCarrier(t *testing.T) {
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
			md, hdr := MetadataCarrier{}, http.Header{}
			for k, vs := range tt.fields {
				md[k] = vs
				hdr[http.CanonicalHeaderKey(k)] = vs
			}
			for _, k := range []string{"traceparent", "Tracestate", "baggage", "x-trace-id", "X-Request-Id", "user-agent"} {
				if got, want := md.Get(k), HeaderCarrier(hdr).Get(k); got != want {
					t.Errorf("Get(%q) = %q, HeaderCarrier says %q", k, got, want)
				}
			}
		})
	}
	var md MetadataCarrier
	md.Set("x", "y") // nil: a no-op, no panic
	md = MetadataCarrier{}
	md.Set("X-Request-Id", "r")
	if v := md["x-request-id"]; len(v) != 1 || v[0] != "r" || len(md.Keys()) != 1 {
		t.Errorf("Set stored %v", md)
	}
}

// TestExtractIncoming: the shared server edge extracts, counts each bad header once, and
// always leaves a request ID in the context.
func TestExtractIncoming(t *testing.T) {
	var warnings []string
	l := NewWarnLimiter(time.Nanosecond, func(err error) { warnings = append(warnings, err.Error()) })
	md := MetadataCarrier{
		"traceparent":  {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "again"},
		"baggage":      {strings.Repeat("k=v,", 100)},
		"x-request-id": {"no spaces allowed"},
	}
	ctx, id := ExtractIncoming(context.Background(), NewPropagator(), md, l)
	if !otelctx.ValidRequestID(id) || otelctx.RequestID(ctx) != id {
		t.Errorf("request ID %q in context %q", id, otelctx.RequestID(ctx))
	}
	if len(warnings) != 3 || l.Total() != 3 {
		t.Errorf("warnings %q, want three (traceparent, baggage, x-request-id)", warnings)
	}
	ctx, id = ExtractIncoming(context.Background(), nil, MetadataCarrier{"x-request-id": {"ok-1"}}, nil)
	if id != "ok-1" || otelctx.RequestID(ctx) != "ok-1" {
		t.Errorf("request ID %q", id)
	}
}
