package zapbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func otelTestCore(w io.Writer) zapcore.Core {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = ""
	return zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(w), zapcore.DebugLevel)
}

// TestOTelRecordsOverOTLPGRPC: 1,000 concurrent requests log through a Logger and through a
// *zap.Logger over NewCore with WithLoggerProvider; every record decoded from the OTLP/gRPC
// export carries its own request's trace and span as the record's fields.
func TestOTelRecordsOverOTLPGRPC(t *testing.T) {
	for _, k := range []string{"OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_METRICS_EXPORTER"} {
		t.Setenv(k, "")
	}
	recv, url := otlplogs.NewGRPC(t)
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", url) // logs only: spans go nowhere
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName("orders"),
		ctxtrail.WithoutExporter(), ctxtrail.WithLogBatch(ctxtrail.LogBatch{QueueSize: 4096}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	logger := New(zap.New(otelTestCore(io.Discard)), WithLoggerProvider(p.LoggerProvider())).With(zap.String("svc", "orders"))

	const n = 1000
	want := make(map[string]string, 2*n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := otelctx.WithRequestID(context.Background(), fmt.Sprintf("req-%d", i))
			ctx, span := p.Tracer("t").Start(ctx, "POST /orders")
			defer span.End()
			logger.Ctx(ctx).Error(fmt.Sprintf("direct %d", i), zap.Int("n", i), zap.Error(errors.New("declined")))
			logger.Zap().Warn(fmt.Sprintf("core %d", i), Context(ctx), zap.Int("n", i))
			sc := span.SpanContext()
			id := sc.TraceID().String() + "/" + sc.SpanID().String() + "/" + fmt.Sprintf("req-%d", i)
			mu.Lock()
			want[fmt.Sprintf("direct %d", i)] = id
			want[fmt.Sprintf("core %d", i)] = id
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := recv.Records()
	if len(got) != 2*n {
		t.Fatalf("received %d records, want %d (stats %+v)", len(got), 2*n, p.LogStats())
	}
	for _, r := range got {
		id := r.TraceID + "/" + r.SpanID + "/" + fmt.Sprint(r.Attr("request_id"))
		var i int64
		fmt.Sscanf(r.Body[strings.IndexByte(r.Body, ' ')+1:], "%d", &i)
		sev := int32(log.SeverityWarn)
		if strings.HasPrefix(r.Body, "direct") {
			sev = int32(log.SeverityError)
			if r.Attr("error") != "declined" {
				t.Fatalf("record %+v without its error", r)
			}
		}
		if want[r.Body] != id || r.Flags&1 != 1 || r.Severity != sev || r.Attr("n") != i || r.Attr("svc") != "orders" ||
			r.Scope != ScopeName || r.Service != "orders" {
			t.Fatalf("record %+v, want %s", r, want[r.Body])
		}
	}
}

// TestOTelOutputUnchanged: with WithLoggerProvider, what the core writes is byte for byte what
// it writes without it.
func TestOTelOutputUnchanged(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(discardExporter{})))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "r"), "s")
	defer span.End()
	with, without := &lines{}, &lines{}
	for _, w := range []*lines{with, without} {
		var opts []Option
		if w == with {
			opts = append(opts, WithLoggerProvider(lp))
		}
		l := New(zap.New(otelTestCore(w)), opts...)
		l.Ctx(ctx).Info("a", zap.Int("k", 1), zap.Namespace("ns"), zap.String("x", "y"))
		l.With(zap.Bool("w", true)).Named("sub").Ctx(ctx).Error("b", zap.Error(io.EOF), zap.Strings("list", []string{"p", "q"}))
		l.Zap().With(Context(ctx)).Warn("c", zap.Duration("d", time.Second))
	}
	if with.String() != without.String() {
		t.Fatalf("with the provider:\n%s\nwithout:\n%s", with, without)
	}
}

type discardExporter struct{}

func (discardExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (discardExporter) Shutdown(context.Context) error                { return nil }
func (discardExporter) ForceFlush(context.Context) error              { return nil }

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
	l := New(zap.New(otelTestCore(io.Discard)), WithLoggerProvider(lp))
	huge := strings.Repeat("x", 1<<20)
	var nilErr *net404
	l.Ctx(context.Background()).Debug("no span", zap.String("huge", huge), zap.Uint64("u", 1<<64-1), zap.Float64("f", 1.5),
		zap.Bool("b", true), zap.Error(nilErr), zap.Namespace("ns"), zap.Int("in", 3), zap.Any("m", map[string]int{"a": 1}))
	if len(capt.records) != 1 {
		t.Fatalf("%d records", len(capt.records))
	}
	r := capt.records[0]
	got := map[string]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool { got[string(kv.Key)] = kv.Value; return true })
	if r.Severity() != log.SeverityDebug || r.TraceID().IsValid() || r.Body().AsString() != "no span" ||
		len(got["huge"].AsString()) != MaxValueLen || got["u"].AsString() != "18446744073709551615" ||
		got["f"].AsFloat64() != 1.5 || !got["b"].AsBool() || got["error"].AsString() != "<nil>" ||
		got["ns.in"].AsInt64() != 3 || got["ns.m"].AsString() != `{"a":1}` {
		t.Fatalf("record attrs %v", got)
	}
	// Observed when made: the bridge sets the observed time to the line's own, so the SDK reads
	// no clock of its own.
	if r.ObservedTimestamp() != r.Timestamp() || r.Timestamp().IsZero() {
		t.Fatalf("observed %v, time %v", r.ObservedTimestamp(), r.Timestamp())
	}
}

type net404 struct{}

func (*net404) Error() string { panic("nil receiver") }

// TestAllocOTel: the bridge's conversion adds no allocation to what zapbridge and the SDK cost
// for the same line and record emitted directly.
func TestAllocOTel(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(nopProcessor{}))
	ctx, span := tp.Tracer("t").Start(otelctx.WithRequestID(context.Background(), "req-1"), "s")
	defer span.End()
	bridged := New(zap.New(otelTestCore(io.Discard)), WithLoggerProvider(lp))
	plain := New(zap.New(otelTestCore(io.Discard)))
	ol := lp.Logger("direct")
	base := testing.AllocsPerRun(200, func() {
		plain.Ctx(ctx).Info("charged", zap.Int("cents", 1250), zap.String("card", "visa"))
		var r log.Record
		r.SetBody(attribute.StringValue("charged"))
		r.AddAttributes(attribute.String("request_id", "req-1"), attribute.Int("cents", 1250), attribute.String("card", "visa"))
		ol.Emit(ctx, r)
	})
	got := testing.AllocsPerRun(200, func() {
		bridged.Ctx(ctx).Info("charged", zap.Int("cents", 1250), zap.String("card", "visa"))
	})
	t.Logf("allocations per line: bridge %v, zapbridge + direct Emit %v", got, base)
	if got > base {
		t.Fatalf("bridge with OpenTelemetry records: %v allocations, zapbridge + direct Emit: %v", got, base)
	}
}

type nopProcessor struct{}

func (nopProcessor) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (nopProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (nopProcessor) Shutdown(context.Context) error                         { return nil }
func (nopProcessor) ForceFlush(context.Context) error                       { return nil }

// TestOTelDuplicateKeys: through otelctx's provider, lines whose keys the bridge finds unique
// skip the SDK's duplicate-key check; a line with a repeated key must still be exported as the
// SDK would: one attribute, the last value, at the first one's place.
func TestOTelDuplicateKeys(t *testing.T) {
	exp := new(otlplogs.KeysExporter)
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(), ctxtrail.WithLogExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	l := New(zap.New(otelTestCore(io.Discard)), WithLoggerProvider(p.LoggerProvider()))
	ctx := otelctx.AddFields(otelctx.WithRequestID(context.Background(), "req-d"), attribute.String("tenant", "acme"))
	l.Ctx(ctx).Info("unique", zap.Int("a", 1), zap.String("b", "x"))
	l.Ctx(ctx).Info("repeated", zap.Int("a", 1), zap.String("b", "x"), zap.Int("a", 2))
	l.Ctx(ctx).Info("repeats a field", zap.String("tenant", "other"))
	l.With(zap.Int("a", 0), zap.String("w", "kept")).Ctx(ctx).Info("repeats With", zap.Int("a", 1))
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
