package slogbridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/otlplogs"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// memoryLogs returns an SDK logger provider that exports every record at once into memory.
func memoryLogs(t *testing.T) (*sdklog.LoggerProvider, *otlplogs.MemoryExporter) {
	t.Helper()
	exp := new(otlplogs.MemoryExporter)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	t.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp, exp
}

// recordAttrs returns the attributes of the only record exported with body, as "k=v k=v".
func recordAttrs(t *testing.T, exp *otlplogs.MemoryExporter, body string) string {
	t.Helper()
	rs := exp.ByBody(body)
	if len(rs) != 1 {
		t.Fatalf("%d records with body %q, want 1", len(rs), body)
	}
	text, _ := otlplogs.Attrs(rs[0])
	return strings.Join(text, " ")
}

// TestOTelRecordLeavesInvalidIDMembersOut: a user.id or tenant.id member that is not an
// identifier, in baggage as the SDK's propagator reads it from a request, is left off the
// OpenTelemetry record exactly as it is left off the handler's line; valid members reach both.
func TestOTelRecordLeavesInvalidIDMembersOut(t *testing.T) {
	hdr := http.Header{}
	hdr.Set("Baggage", "user.id=%22admin%22,tenant.id=acme%0D%0Aforged,session.id=s-1,plan=gold")
	ctx := propagation.Baggage{}.Extract(context.Background(), propagation.HeaderCarrier(hdr))
	if bag := baggage.FromContext(ctx); bag.Member("user.id").Value() != `"admin"` || bag.Member("tenant.id").Value() != "acme\r\nforged" {
		t.Fatalf("setup: the propagator kept %q, want the hostile members in the context", bag.String())
	}
	lp, exp := memoryLogs(t)
	out := &lines{}
	l := slog.New(NewHandler(slog.NewJSONHandler(out, nil), WithLoggerProvider(lp),
		WithBaggageMembers("user.id", "tenant.id", "session.id", "plan")))
	l.InfoContext(ctx, "top")
	l.WithGroup("g").InfoContext(ctx, "grouped", "k", "v")

	for _, line := range out.parse(t) {
		if _, ok := line["user.id"]; ok {
			t.Errorf("line %v carries the invalid user.id", line)
		}
		if _, ok := line["tenant.id"]; ok {
			t.Errorf("line %v carries the invalid tenant.id", line)
		}
		if line["session.id"] != "s-1" || line["plan"] != "gold" {
			t.Errorf("line %v lost a valid member", line)
		}
	}
	for body, want := range map[string]string{
		"top":     "session.id=s-1 plan=gold",
		"grouped": "session.id=s-1 plan=gold g.k=v",
	} {
		if got := recordAttrs(t, exp, body); got != want {
			t.Errorf("%s: record attributes %q, want %q", body, got, want)
		}
	}
}

// TestOTelSiblingHandlersKeepOwnAttrs: loggers derived from one parent by With (WithAttrs) and
// WithGroup keep their own attributes in OpenTelemetry records; a sibling never sees, shares or
// overwrites another's. Parents are built by chains of 1 to 6 calls, so that a handler that
// appended to its parent's slices would find spare capacity in at least one of them.
func TestOTelSiblingHandlersKeepOwnAttrs(t *testing.T) {
	lp, exp := memoryLogs(t)
	base := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil), WithLoggerProvider(lp)))
	kinds := []struct {
		name  string
		build func(depth int) (parent *slog.Logger, attrs []string, prefix string)
	}{
		{"with", func(depth int) (*slog.Logger, []string, string) {
			p, attrs := base, []string(nil)
			for i := range depth {
				p = p.With(fmt.Sprintf("p%d", i), i)
				attrs = append(attrs, fmt.Sprintf("p%d=%d", i, i))
			}
			return p, attrs, ""
		}},
		{"group then with", func(depth int) (*slog.Logger, []string, string) {
			p, attrs := base.WithGroup("g"), []string(nil)
			for i := range depth {
				p = p.With(fmt.Sprintf("p%d", i), i)
				attrs = append(attrs, fmt.Sprintf("g.p%d=%d", i, i))
			}
			return p, attrs, "g."
		}},
		{"groups", func(depth int) (*slog.Logger, []string, string) {
			p, attrs, prefix := base, []string(nil), ""
			for i := range depth {
				p = p.WithGroup(fmt.Sprintf("g%d", i)).With(fmt.Sprintf("p%d", i), i)
				prefix += fmt.Sprintf("g%d.", i)
				attrs = append(attrs, fmt.Sprintf("%sp%d=%d", prefix, i, i))
			}
			return p, attrs, prefix
		}},
		{"group chain", func(depth int) (*slog.Logger, []string, string) {
			p, prefix := base, ""
			for i := range depth {
				p = p.WithGroup(fmt.Sprintf("g%d", i))
				prefix += fmt.Sprintf("g%d.", i)
			}
			return p, nil, prefix
		}},
	}
	for _, kind := range kinds {
		for depth := 1; depth <= 6; depth++ {
			parent, attrs, prefix := kind.build(depth)
			// Derive every sibling before any logs, so a later one could overwrite an earlier one.
			siblings := []struct {
				name string
				l    *slog.Logger
				own  string
			}{
				{"with a", parent.With("s", "a", "only_a", true), prefix + "s=a " + prefix + "only_a=true"},
				{"with b", parent.With("s", "b", "only_b", true), prefix + "s=b " + prefix + "only_b=true"},
				{"group a", parent.WithGroup("ga").With("x", "a"), prefix + "ga.x=a"},
				{"group b", parent.WithGroup("gb").With("x", "b"), prefix + "gb.x=b"},
				{"group c", parent.WithGroup("gc"), prefix + "gc.r=1"},
				{"group d", parent.WithGroup("gd"), prefix + "gd.r=1"},
			}
			for _, s := range siblings {
				body := fmt.Sprintf("%s/%d/%s", kind.name, depth, s.name)
				if strings.HasSuffix(s.own, ".r=1") {
					s.l.Info(body, "r", 1) // a group without attributes of its own shows only in a record's
				} else {
					s.l.Info(body)
				}
				want := strings.Join(append(append([]string(nil), attrs...), s.own), " ")
				if got := recordAttrs(t, exp, body); got != want {
					t.Errorf("%s: record attributes %q, want %q", body, got, want)
				}
			}
			// The parent itself is unchanged by its children.
			body := fmt.Sprintf("%s/%d/parent", kind.name, depth)
			parent.Info(body)
			if got, want := recordAttrs(t, exp, body), strings.Join(attrs, " "); got != want {
				t.Errorf("%s: record attributes %q, want %q", body, got, want)
			}
		}
	}
}
