package otelctx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"uuid", "3f1c2a9e-7b4d-4c1e-9a52-0d6f8e2b1c3a", true},
		{"every allowed character", "AZaz09._@:-", true},
		{"one byte", "x", true},
		{"at the cap", strings.Repeat("a", otelctx.MaxRequestIDLen), true},
		{"empty", "", false},
		{"over the cap", strings.Repeat("a", otelctx.MaxRequestIDLen+1), false},
		{"8 KiB", strings.Repeat("a", 8<<10), false},
		{"CR LF header injection", "abc\r\nSet-Cookie: x=1", false},
		{"LF alone", "abc\ndef", false},
		{"space", "abc def", false},
		{"comma", "a,b", false},
		{"quote", `a"b`, false},
		{"percent escape", "a%0d%0a", false},
		{"0x80 byte", "a\x80b", false},
		{"non-ASCII letter", "café", false},
		{"NUL", "a\x00b", false},
		{"slash", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := otelctx.ValidRequestID(tt.id); got != tt.want {
				t.Fatalf("ValidRequestID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestNewRequestIDIsValidHexAndFresh(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		id := otelctx.NewRequestID()
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("NewRequestID() = %q, want 32 lowercase hex digits", id)
		}
		if !otelctx.ValidRequestID(id) {
			t.Fatalf("NewRequestID() = %q is not a ValidRequestID", id)
		}
		if seen[id] {
			t.Fatalf("NewRequestID() repeated %q within 1000 calls", id)
		}
		seen[id] = true
	}
}

func TestRequestIDRidesTheContext(t *testing.T) {
	ctx := context.Background()
	if got := otelctx.RequestID(ctx); got != "" {
		t.Fatalf("RequestID(empty) = %q", got)
	}
	child := otelctx.WithRequestID(ctx, "req-1")
	if got := otelctx.RequestID(child); got != "req-1" {
		t.Fatalf("RequestID = %q, want req-1", got)
	}
	if got := otelctx.RequestID(ctx); got != "" {
		t.Fatalf("parent changed: %q", got)
	}
}
