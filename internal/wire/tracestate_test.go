package wire

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestParseLevelTwo(t *testing.T) {
	var ms []string
	for i := 0; i < 32; i++ {
		ms = append(ms, "k"+itoaTS(i)+"@x=1")
	}
	max32 := strings.Join(ms, ",")
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"1a=1", "1a=1", true},
		{"1a=1, 2b=2", "1a=1,2b=2", true},
		{"1a=1,,2b=2", "1a=1,2b=2", true},
		{"1a=a b", "1a=a b", true},
		{max32, max32, true},
		{max32 + ",z=1", "", false},
		{"1a=1,2b=2,1a=3", "1a=1,2b=2", true},
		{"1a=1,1a=1", "1a=1", true},
		{" foo=1 , foo=2,,bar=3", "foo=1,bar=3", true},
		{max32 + "," + ms[0], "", false}, // 33 members, one a duplicate: over the limit as sent
		{"1a=1,1a=x=y", "", false},       // a malformed duplicate still spoils the list
		{"1a=", "", false},
		{"=1", "", false},
		{"1a=\x7f", "", false},
		{"1a=é", "", false},
		{"", "", false},
		{" , ", "", false},
		{"1a=1,FOO=2", "", false},
	} {
		got, ok := parseLevelTwo(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseLevelTwo(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func itoaTS(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

// Local members beyond 32 in all push the kept ones out from the right.
func TestLevelTwoTracestateKeepsListLimit(t *testing.T) {
	var kept []string
	for i := 0; i < 32; i++ {
		kept = append(kept, "9"+itoaTS(i)+"=1")
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	ts, _ := trace.ParseTraceState("local=1")
	sc = sc.WithTraceState(ts)
	ctx := levelTwoKey.With(context.Background(), &levelTwo{traceID: sc.TraceID(), value: strings.Join(kept, ",")})
	got := strings.Split(LevelTwoTracestate(ctx, sc), ",")
	if len(got) != 32 || got[0] != "local=1" || got[31] != kept[30] {
		t.Fatalf("%d members, first %q last %q", len(got), got[0], got[len(got)-1])
	}
	// Another trace never gets it.
	other := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{2}, SpanID: trace.SpanID{1}})
	if v := LevelTwoTracestate(ctx, other); v != "" {
		t.Fatalf("another trace got %q", v)
	}
}
