package slogbridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/otlplogs"
	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func installOTLP(t *testing.T, url string, opts ...ctxtrail.Option) *ctxtrail.Provider {
	t.Helper()
	for _, k := range []string{"OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_METRICS_EXPORTER"} {
		t.Setenv(k, "")
	}
	opts = append([]ctxtrail.Option{ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName("frontend"), ctxtrail.WithOTLP(url),
		ctxtrail.WithLogExporterName(ctxtrail.ExporterOTLP), ctxtrail.WithLogBatch(ctxtrail.LogBatch{QueueSize: 4096})}, opts...)
	p, err := ctxtrail.Install(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// TestOTelRecordsOverOTLP: 1,000 concurrent requests log through slogbridge with
// WithLoggerProvider; every record decoded from the OTLP/HTTP export carries its own request's
// trace and span as the record's fields, its severity, body and attributes.
func TestOTelRecordsOverOTLP(t *testing.T) {
	recv, url := otlplogs.NewHTTP(t)
	p := installOTLP(t, url)
	logger := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil), WithLoggerProvider(p.LoggerProvider())))

	const n = 1000
	want := make(map[string]string, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := otelctx.WithRequestID(context.Background(), fmt.Sprintf("req-%d", i))
			ctx, span := p.Tracer("t").Start(ctx, "GET /checkout")
			defer span.End()
			body := fmt.Sprintf("checkout %d", i)
			logger.With("svc", "frontend").WithGroup("cart").WarnContext(ctx, body, "items", i)
			sc := span.SpanContext()
			mu.Lock()
			want[body] = sc.TraceID().String() + "/" + sc.SpanID().String() + "/" + fmt.Sprintf("req-%d", i)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := recv.Records()
	if len(got) != n {
		t.Fatalf("received %d records, want %d (stats %+v)", len(got), n, p.LogStats())
	}
	for _, r := range got {
		id := r.TraceID + "/" + r.SpanID + "/" + fmt.Sprint(r.Attr("request_id"))
		var i int64
		fmt.Sscanf(r.Body, "checkout %d", &i)
		if want[r.Body] != id || r.Flags&1 != 1 || r.Severity != int32(log.SeverityWarn1) || r.SeverityText != "WARN" ||
			r.Attr("cart.items") != i || r.Attr("svc") != "frontend" || r.Scope != ScopeName || r.Service != "frontend" {
			t.Fatalf("record %+v, want %s", r, want[r.Body])
		}
		if _, ok := r.Attrs["trace_id"]; ok {
			t.Fatal("trace_id as an attribute: it belongs in the record's own field")
		}
	}
}

// TestOTelOutputUnchanged: with WithLoggerProvider, what next writes is byte for byte what it
// writes without it.
func TestOTelOutputUnchanged(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(discardExporter{})))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	with, without := &lines{}, &lines{}
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	defer span.End()
	for _, w := range []*lines{with, without} {
		var opts []Option
		if w == with {
			opts = append(opts, WithLoggerProvider(lp))
		}
		l := slog.New(NewHandler(plainJSON(w), opts...))
		l.InfoContext(ctx, "a", "k", 1, slog.Group("g", "x", "y"))
		l.With("w", true).WithGroup("g").With("in", 2).ErrorContext(ctx, "b", "err", io.EOF)
	}
	if with.String() != without.String() {
		t.Fatalf("with the provider:\n%s\nwithout:\n%s", with, without)
	}
}

type discardExporter struct{}

func (discardExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (discardExporter) Shutdown(context.Context) error                { return nil }
func (discardExporter) ForceFlush(context.Context) error              { return nil }

// captureProcessor keeps the records it is given.
type captureProcessor struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (c *captureProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}
func (c *captureProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *captureProcessor) Shutdown(context.Context) error                         { return nil }
func (c *captureProcessor) ForceFlush(context.Context) error                       { return nil }

func TestOTelRecordFields(t *testing.T) {
	capt := &captureProcessor{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(capt))
	l := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), WithLoggerProvider(lp)))
	huge := strings.Repeat("x", 1<<20)
	l.Debug("no context", "huge", huge, "u", uint64(7), "f", 1.5, "b", true, "err", io.EOF)
	l.Log(context.Background(), slog.LevelError+2, "above error")
	if len(capt.records) != 2 {
		t.Fatalf("%d records", len(capt.records))
	}
	r := capt.records[0]
	got := map[string]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool { got[string(kv.Key)] = kv.Value; return true })
	if r.Severity() != log.SeverityDebug1 || r.TraceID().IsValid() || r.Body().AsString() != "no context" ||
		len(got["huge"].AsString()) != MaxValueLen || got["u"].AsInt64() != 7 || got["f"].AsFloat64() != 1.5 ||
		!got["b"].AsBool() || got["err"].AsString() != "EOF" {
		t.Fatalf("record %v attrs %v", r, got)
	}
	if s := capt.records[1].Severity(); s != log.SeverityError3 {
		t.Fatalf("ERROR+2 mapped to %v", s)
	}
	// Observed when made: the bridge sets the observed time to the record's own time, so the SDK
	// reads no clock of its own; a record without a time still gets one from the SDK.
	if r.ObservedTimestamp() != r.Timestamp() || r.Timestamp().IsZero() {
		t.Fatalf("observed %v, time %v", r.ObservedTimestamp(), r.Timestamp())
	}
	h := NewHandler(slog.NewJSONHandler(io.Discard, nil), WithLoggerProvider(lp))
	if err := h.Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, "no time", 0)); err != nil {
		t.Fatal(err)
	}
	if r := capt.records[2]; r.ObservedTimestamp().IsZero() || !r.Timestamp().IsZero() {
		t.Fatalf("record without a time: observed %v, time %v", r.ObservedTimestamp(), r.Timestamp())
	}
}

// TestAllocOTel: the bridge's conversion adds no allocation to what the SDK itself costs for
// the same record emitted directly.
func TestAllocOTel(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(nopProcessor{}))
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	bridged := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil), WithLoggerProvider(lp)))
	plain := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ol := lp.Logger("direct")
	sc := span.SpanContext()
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	base := testing.AllocsPerRun(200, func() {
		plain.LogAttrs(ctx, slog.LevelInfo, "charged", slog.String("trace_id", tid), slog.String("span_id", sid), slog.Int("cents", 1250), slog.String("card", "visa"))
		var r log.Record
		r.SetBody(attribute.StringValue("charged"))
		r.AddAttributes(attribute.String("request_id", "req-1"), attribute.Int("cents", 1250), attribute.String("card", "visa"))
		ol.Emit(ctx, r)
	})
	got := testing.AllocsPerRun(200, func() {
		bridged.LogAttrs(ctx, slog.LevelInfo, "charged", slog.Int("cents", 1250), slog.String("card", "visa"))
	})
	t.Logf("allocations per record: bridge %v, JSONHandler + direct Emit %v", got, base)
	if got > base {
		t.Fatalf("bridge with OpenTelemetry records: %v allocations, JSONHandler + direct Emit: %v", got, base)
	}
}

type nopProcessor struct{}

func (nopProcessor) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (nopProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (nopProcessor) Shutdown(context.Context) error                         { return nil }
func (nopProcessor) ForceFlush(context.Context) error                       { return nil }

// TestOTelDuplicateKeys: through otelctx's provider, records whose keys the bridge finds unique
// skip the SDK's duplicate-key check; a record with a repeated key (from the record, or a store
// field the record repeats) must still be exported as the SDK would: one attribute, the last value,
// at the first one's place.
func TestOTelDuplicateKeys(t *testing.T) {
	exp := new(otlplogs.KeysExporter)
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(), ctxtrail.WithLogExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	l := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil), WithLoggerProvider(p.LoggerProvider())))
	ctx := otelctx.AddFields(otelctx.WithRequestID(context.Background(), "req-d"), attribute.String("tenant", "acme"))
	l.InfoContext(ctx, "unique", "a", 1, "b", "x")
	l.InfoContext(ctx, "repeated", "a", 1, "b", "x", "a", 2)
	l.InfoContext(ctx, "repeats a field", "tenant", "other")
	l.With("a", 0, "w", "kept").InfoContext(ctx, "repeats With", "a", 1)
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		"unique":          "request_id=req-d tenant=acme a=1 b=x",
		"repeated":        "request_id=req-d tenant=acme a=2 b=x",
		"repeats a field": "request_id=req-d tenant=other",
		"repeats With":    "request_id=req-d tenant=acme a=1 w=kept", // w: the With attribute survives
	} {
		if got := exp.Attributes(body); got != want {
			t.Errorf("%q exported %q, want %q", body, got, want)
		}
	}
}
