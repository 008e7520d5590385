package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	blocks := strings.Split(s, "── request ")[1:]
	if len(blocks) != len(requests) {
		t.Fatalf("%d requests drawn, want %d:\n%s", len(blocks), len(requests), s)
	}
	want := []struct {
		status string
		lines  []string // each must appear in that request's block
	}{
		{"200 OK", []string{"frontend  GET /checkout", "orders        └ POST /orders", "payments            └ shop.Payments/Charge", "sqltx.commit", "log orders   info  order placed"}},
		{"402 Payment Required", []string{"✗ card declined", "sqltx.rollback", "log payments warn  charge declined"}},
		{"402 Payment Required", []string{"insufficient credit", "log orders   warn  not enough credit"}},
		{"502 Bad Gateway", []string{"payments            └ shop.Payments/Charge", "✗ panic: payments", "payments REPORT panic: payments: card processor returned garbage", "breadcrumbs: checkout requested → recommendations loaded → checkout failed"}},
		{"400 Bad Request", []string{"validate cart", "log frontend warn  cart rejected"}},
	}
	for i, w := range want {
		b := blocks[i]
		if !strings.Contains(strings.SplitN(b, "\n", 2)[0], w.status) {
			t.Errorf("request %d: status line %q, want %s", i+1, strings.SplitN(b, "\n", 2)[0], w.status)
		}
		for _, l := range w.lines {
			if !strings.Contains(b, l) {
				t.Errorf("request %d lacks %q:\n%s", i+1, l, b)
			}
		}
		if n := strings.Count(b, "trace "); n != 1 {
			t.Errorf("request %d: %d traces drawn, want 1", i+1, n)
		}
		// Every log line under a trace carries that request's request_id, and only one.
		var ids []string
		for _, line := range strings.Split(b, "\n") {
			if _, after, ok := strings.Cut(line, "request_id="); ok {
				id, _, _ := strings.Cut(after, " ")
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("request %d mixes request IDs %v", i+1, ids)
				break
			}
		}
	}
}
