package zapbridge

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/otlplogs"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// memoryLogs returns an SDK logger provider that exports every record at once into memory.
func memoryLogs(t *testing.T) (*sdklog.LoggerProvider, *otlplogs.MemoryExporter) {
	t.Helper()
	exp := new(otlplogs.MemoryExporter)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	t.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp, exp
}

// oneRecord returns the only record exported with body; anything else fails the test.
func oneRecord(t *testing.T, exp *otlplogs.MemoryExporter, body string) sdklog.Record {
	t.Helper()
	rs := exp.ByBody(body)
	if len(rs) != 1 {
		t.Fatalf("%d records with body %q, want 1 (all: %d)", len(rs), body, len(exp.Records()))
	}
	return rs[0]
}

// hostileBaggage is the context a request gets from the SDK's own baggage propagator (what
// otelhttp or any OpenTelemetry middleware uses): identifier members whose decoded values are
// not identifiers (a quoted value, a CR LF), beside valid ones.
func hostileBaggage(t *testing.T) context.Context {
	t.Helper()
	hdr := http.Header{}
	hdr.Set("Baggage", "user.id=%22admin%22,tenant.id=acme%0D%0Aforged,session.id=s-1,plan=gold")
	ctx := propagation.Baggage{}.Extract(context.Background(), propagation.HeaderCarrier(hdr))
	bag := baggage.FromContext(ctx)
	if bag.Member("user.id").Value() != `"admin"` || bag.Member("tenant.id").Value() != "acme\r\nforged" {
		t.Fatalf("setup: the propagator kept %q, want the hostile members in the context", bag.String())
	}
	return ctx
}

// TestOTelRecordLeavesInvalidIDMembersOut: a user.id or tenant.id member that is not an
// identifier is left off the OpenTelemetry record exactly as it is left off the zap line, on
// both ways in (Logger, and a *zap.Logger given a Context field); valid members reach both.
func TestOTelRecordLeavesInvalidIDMembersOut(t *testing.T) {
	lp, exp := memoryLogs(t)
	ctx := hostileBaggage(t)
	core, out := jsonCore(zapcore.DebugLevel)
	l := New(zap.New(core), WithLoggerProvider(lp), WithBaggageMembers("user.id", "tenant.id", "session.id", "plan"))
	l.Ctx(ctx).Info("direct")
	l.Zap().Info("core", Context(ctx))

	for _, line := range out.parse(t) {
		if _, ok := line["user.id"]; ok {
			t.Errorf("zap line %v carries the invalid user.id", line)
		}
		if _, ok := line["tenant.id"]; ok {
			t.Errorf("zap line %v carries the invalid tenant.id", line)
		}
		if line["session.id"] != "s-1" || line["plan"] != "gold" {
			t.Errorf("zap line %v lost a valid member", line)
		}
	}
	for _, body := range []string{"direct", "core"} {
		r := oneRecord(t, exp, body)
		text, _ := otlplogs.Attrs(r)
		if got, want := strings.Join(text, " "), "session.id=s-1 plan=gold"; got != want {
			t.Errorf("%s: record attributes %q, want %q", body, got, want)
		}
	}
}

// TestOTelRecordsCarryFieldsOfBridgedLogger: fields given to With of a *zap.Logger whose core is
// a bridge core (NewCore, or another Logger's Zap) reach the OpenTelemetry records of a Logger
// made over it by New, once, while zap's own output still writes them once and each line is
// exported once, with its span.
func TestOTelRecordsCarryFieldsOfBridgedLogger(t *testing.T) {
	tr, _ := tracer(t)
	for _, tc := range []struct {
		name  string
		build func(zapcore.Core, log.LoggerProvider) *Logger
	}{
		{"NewCore then With, New with the provider", func(c zapcore.Core, lp log.LoggerProvider) *Logger {
			return New(zap.New(NewCore(c)).With(zap.String("svc", "a")), WithLoggerProvider(lp))
		}},
		{"NewCore with the provider then With, New without options", func(c zapcore.Core, lp log.LoggerProvider) *Logger {
			return New(zap.New(NewCore(c, WithLoggerProvider(lp))).With(zap.String("svc", "a")))
		}},
		{"another Logger's Zap then With", func(c zapcore.Core, lp log.LoggerProvider) *Logger {
			return New(New(zap.New(c)).Zap().With(zap.String("svc", "a")), WithLoggerProvider(lp))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp, exp := memoryLogs(t)
			core, out := jsonCore(zapcore.DebugLevel)
			l := tc.build(core, lp)
			ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-9"), "s")
			defer span.End()
			l.Ctx(ctx).Info("direct", zap.Int("n", 1))
			l.With(zap.String("more", "b")).InfoContext(ctx, "direct with")
			l.Zap().Info("core", Context(ctx))

			for _, raw := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if n := strings.Count(raw, `"svc":"a"`); n != 1 {
					t.Errorf("zap line has svc %d times: %s", n, raw)
				}
				if n := strings.Count(raw, `"trace_id"`); n != 1 {
					t.Errorf("zap line has trace_id %d times: %s", n, raw)
				}
			}
			if n := len(out.parse(t)); n != 3 {
				t.Fatalf("%d zap lines, want 3:\n%s", n, out)
			}
			for _, body := range []string{"direct", "direct with", "core"} {
				r := oneRecord(t, exp, body)
				text, count := otlplogs.Attrs(r)
				if v, _ := otlplogs.Attr(r, "svc"); count["svc"] != 1 || v.AsString() != "a" {
					t.Errorf("%s: record attributes %v, want svc=a once", body, text)
				}
				if v, _ := otlplogs.Attr(r, "request_id"); v.AsString() != "req-9" {
					t.Errorf("%s: record attributes %v, want request_id=req-9", body, text)
				}
				if r.TraceID() != span.SpanContext().TraceID() || r.SpanID() != span.SpanContext().SpanID() {
					t.Errorf("%s: record trace %s span %s, want the line's span", body, r.TraceID(), r.SpanID())
				}
			}
			if v, _ := otlplogs.Attr(oneRecord(t, exp, "direct with"), "more"); v.AsString() != "b" {
				t.Errorf("the Logger's own With field is missing from the record")
			}
		})
	}
}

// TestOTelRecordContextFromWith: a line whose context came through With(Context(ctx)), not with
// the line, reaches the logs signal with that context's trace, span and request IDs, also after
// further With calls and when the Context came through ContextLogger.Zap.
func TestOTelRecordContextFromWith(t *testing.T) {
	tr, _ := tracer(t)
	lp, exp := memoryLogs(t)
	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-ctx"), "s")
	defer span.End()

	l := New(zap.New(otelTestCore(&lines{})), WithLoggerProvider(lp))
	l.Zap().With(Context(ctx)).Info("zap with")
	l.Zap().With(Context(ctx)).With(zap.String("k", "v")).Warn("zap with, then with")
	l.Ctx(ctx).Zap().Error("ctx zap")
	zap.New(NewCore(otelTestCore(&lines{}), WithLoggerProvider(lp))).With(Context(ctx)).Info("core with")

	sc := span.SpanContext()
	for _, body := range []string{"zap with", "zap with, then with", "ctx zap", "core with"} {
		r := oneRecord(t, exp, body)
		if r.TraceID() != sc.TraceID() || r.SpanID() != sc.SpanID() || r.TraceFlags() != sc.TraceFlags() {
			t.Errorf("%s: record trace %s span %s flags %s, want %s %s %s", body,
				r.TraceID(), r.SpanID(), r.TraceFlags(), sc.TraceID(), sc.SpanID(), sc.TraceFlags())
		}
		if v, _ := otlplogs.Attr(r, "request_id"); v.AsString() != "req-ctx" {
			text, _ := otlplogs.Attrs(r)
			t.Errorf("%s: record attributes %v, want request_id=req-ctx", body, text)
		}
	}
}

// terminalHooks stands in for zap's Panic and Fatal hooks, so that the test neither panics nor
// exits; it records which levels reached it.
type terminalHooks struct {
	mu   sync.Mutex
	seen []zapcore.Level
}

func (h *terminalHooks) OnWrite(ce *zapcore.CheckedEntry, _ []zapcore.Field) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, ce.Level)
}

// TestOTelSeverityEveryLevel: every zap level, Panic, DPanic and Fatal included, and levels
// outside zap's named ones, map to an OpenTelemetry severity inside 1–24: the named levels to
// the numbers WithLoggerProvider documents. Both ways in.
func TestOTelSeverityEveryLevel(t *testing.T) {
	lp, exp := memoryLogs(t)
	hooks := &terminalHooks{}
	all := zapcore.NewCore(zapcore.NewJSONEncoder(encoderConfig()), &lines{}, zap.LevelEnablerFunc(func(zapcore.Level) bool { return true }))
	zl := zap.New(all, zap.Development(), zap.WithPanicHook(hooks), zap.WithFatalHook(hooks))
	l := New(zl, WithLoggerProvider(lp))

	want := map[zapcore.Level]log.Severity{
		zapcore.DebugLevel: 5, zapcore.InfoLevel: 9, zapcore.WarnLevel: 13, zapcore.ErrorLevel: 17,
		zapcore.DPanicLevel: 21, zapcore.PanicLevel: 22, zapcore.FatalLevel: 23,
	}
	levels := []zapcore.Level{-128, zapcore.DebugLevel - 1, zapcore.InvalidLevel, 127}
	for lvl := range want {
		levels = append(levels, lvl)
	}
	for _, lvl := range levels {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("level %v panicked: %v", lvl, p)
				}
			}()
			l.LogContext(context.Background(), lvl, "logger "+lvl.String())
			l.Zap().Log(lvl, "core "+lvl.String(), Context(context.Background()))
		}()
		for _, way := range []string{"logger ", "core "} {
			r := oneRecord(t, exp, way+lvl.String())
			got := r.Severity()
			if got < log.SeverityTrace1 || got > log.SeverityFatal4 {
				t.Errorf("%s%v: severity %d, outside 1–24", way, lvl, got)
			}
			if w, ok := want[lvl]; ok && got != w {
				t.Errorf("%s%v: severity %d, want %d", way, lvl, got, w)
			}
			if r.SeverityText() == "" {
				t.Errorf("%s%v: no severity text", way, lvl)
			}
		}
	}
	// DPanic (development), Panic and Fatal each went through zap's terminal hook, once per way.
	if got := len(hooks.seen); got != 6 {
		t.Errorf("terminal hooks ran %d times (%v), want 6", got, hooks.seen)
	}
}
