package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoDrawsBothTraces(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if n := strings.Count(s, "trace "); n != 2 {
		t.Fatalf("%d traces drawn, want 2:\n%s", n, s)
	}
	for _, want := range []string{"client checkout", "└ GET /checkout", "    └ charge card", "✗ card declined", "2 error(s)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
