package benchmarks

// Benchmarks for issue 16: slogbridge beside plain slog and the contrib otelslog bridge, and the
// OpenTelemetry-logs path of zapbridge and slogbridge beside contrib otelzap and otelslog.
// github.com/veqryn/slog-context could not be measured: the module proxy answers 403 for it
// on this machine (see results/logs.md).
//
// Every comparison is paired (BenchmarkLogsPaired): the two sides run in alternating blocks of
// logsBlock calls in one process, the order of each pair drawn at random, so that the load of a
// shared machine falls on both alike. CPU is the process's CPU time (every thread, so the batch
// processor's goroutine and the garbage collector count); allocations are counted apart with
// testing.AllocsPerRun.

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	contrib "go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	logembedded "go.opentelemetry.io/otel/log/embedded"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const logsBlock = 2048

// pairLines runs base and other in alternating blocks until b.N calls of each, and reports each
// side's CPU per call, the median over blocks of other's CPU over base's, and each side's
// allocations per call.
func pairLines(b *testing.B, base, other func()) {
	baseAllocs := testing.AllocsPerRun(500, base)
	otherAllocs := testing.AllocsPerRun(500, other)
	run := func(f func()) time.Duration {
		c0 := processCPU()
		for range logsBlock {
			f()
		}
		return processCPU() - c0
	}
	var ratios []float64
	var baseCPU, otherCPU time.Duration
	seed := uint64(0x9E3779B97F4A7C15)
	b.ResetTimer()
	for n := 0; n < b.N; n += logsBlock {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		var bc, oc time.Duration
		if seed&1 == 0 {
			bc, oc = run(base), run(other)
		} else {
			oc, bc = run(other), run(base)
		}
		baseCPU += bc
		otherCPU += oc
		if bc > 0 && oc > 0 {
			ratios = append(ratios, float64(oc)/float64(bc))
		}
	}
	b.StopTimer()
	calls := float64(max(b.N, logsBlock) / logsBlock * logsBlock)
	b.ReportMetric(float64(baseCPU)/calls, "base-cpu-ns/op")
	b.ReportMetric(float64(otherCPU)/calls, "cpu-ns/op")
	if len(ratios) > 0 {
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], "cpu-ratio-median")
	}
	if baseCPU > 0 {
		// Work a background goroutine does for one side's records can fall in the other side's
		// block, which moves the per-block ratios; the ratio of the sums does not care.
		b.ReportMetric(float64(otherCPU)/float64(baseCPU), "cpu-ratio-sum")
	}
	b.ReportMetric(baseAllocs, "base-allocs/op")
	b.ReportMetric(otherAllocs, "bridge-allocs/op")
}

// nopHandler is an enabled slog handler that writes nothing: what is left is the bridge's work.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// nopCore is an enabled zap core that writes nothing.
type nopCore struct{}

func (nopCore) Enabled(zapcore.Level) bool                 { return true }
func (c nopCore) With([]zapcore.Field) zapcore.Core        { return c }
func (nopCore) Write(zapcore.Entry, []zapcore.Field) error { return nil }
func (nopCore) Sync() error                                { return nil }
func (c nopCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return ce.AddCore(e, c)
}

// noopProcessor takes every record and does nothing with it. Behind the SDK's LoggerProvider it
// leaves the bridge plus the SDK's Logger.Emit (the record build: attribute copies, duplicate
// keys, limits), without the batch queue and the export goroutine.
type noopProcessor struct{}

func (noopProcessor) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (noopProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (noopProcessor) Shutdown(context.Context) error                         { return nil }
func (noopProcessor) ForceFlush(context.Context) error                       { return nil }

func noopSDKProvider(b *testing.B) *sdklog.LoggerProvider {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(noopProcessor{}))
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp
}

// nopLogProvider's loggers are enabled and drop every record at Emit: what is left is the
// bridge's own conversion, before any SDK.
type nopLogProvider struct{ logembedded.LoggerProvider }

func (nopLogProvider) Logger(string, ...otellog.LoggerOption) otellog.Logger { return nopLogger{} }

type nopLogger struct{ logembedded.Logger }

func (nopLogger) Emit(context.Context, otellog.Record)                    {}
func (nopLogger) Enabled(context.Context, otellog.EnabledParameters) bool { return true }

// contribProvider is the OpenTelemetry SDK set up as the contrib bridges' users do: a batch
// processor with the SDK's defaults in front of an exporter that drops every record.
// A queue above 0 replaces the default queue size (2,048) on both sides.
func contribProvider(b *testing.B, queue ...int) *sdklog.LoggerProvider {
	var opts []sdklog.BatchProcessorOption
	if len(queue) > 0 {
		opts = append(opts, sdklog.WithMaxQueueSize(queue[0]))
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(dropExporter{}, opts...)))
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp
}

// ctxtrailProvider is ctxtrail.Install with the same exporter and the same batch settings (the
// SDK's defaults, which are otelctx's too).
func ctxtrailProvider(b *testing.B, queue ...int) *ctxtrail.Provider {
	var batch ctxtrail.LogBatch
	if len(queue) > 0 {
		batch.QueueSize = queue[0]
	}
	// Losses are logged once at the end (below), not as warnings in the middle of the output.
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithLogExporter(dropExporter{}), ctxtrail.WithLogBatch(batch), ctxtrail.WithLossWarnings(time.Hour, func(error) {}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		if s := p.LogStats(); s.Dropped > 0 {
			b.Logf("otelctx dropped %d of %d records (queue full)", s.Dropped, s.Emitted)
		}
	})
	return p
}

func spanContext(b *testing.B) (context.Context, string, string) {
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
	b.Cleanup(func() { span.End() })
	sc := span.SpanContext()
	return ctx, sc.TraceID().String(), sc.SpanID().String()
}

// BenchmarkLogsPaired: name is other/base.
func BenchmarkLogsPaired(b *testing.B) {
	ctx, tid, sid := spanContext(b)
	card, cents := slog.String("card", "visa"), slog.Int("cents", 1250)
	jsonOpts := &slog.HandlerOptions{Level: slog.LevelInfo}

	plainSlog := slog.New(slog.NewJSONHandler(io.Discard, jsonOpts))
	// Only the two IDs, as the plain side carries: no request ID in this context anyway.
	bridgedSlog := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(io.Discard, jsonOpts)))
	plainLine := func() {
		plainSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, slog.String("trace_id", tid), slog.String("span_id", sid), card, cents)
	}
	bridgedLine := func() { bridgedSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) }

	b.Run("slogbridge-JSON/plain-JSON-IDs-precomputed", func(b *testing.B) { pairLines(b, plainLine, bridgedLine) })
	b.Run("slogbridge-JSON-disabled/plain-JSON-disabled", func(b *testing.B) {
		pairLines(b,
			func() { plainSlog.LogAttrs(ctx, slog.LevelDebug, benchMsg, card, cents) },
			func() { bridgedSlog.LogAttrs(ctx, slog.LevelDebug, benchMsg, card, cents) })
	})
	b.Run("slogbridge-JSON/otelslog", func(b *testing.B) {
		contribSlog := slog.New(otelslog.NewHandler("bench", otelslog.WithLoggerProvider(contribProvider(b))))
		pairLines(b, func() { contribSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) }, bridgedLine)
	})

	// The OpenTelemetry-logs path per line: our bridge over a handler/core that writes nothing,
	// feeding Install's pipeline, against the contrib bridge alone, same exporter and batching.
	b.Run("slogbridge-OTel/otelslog", func(b *testing.B) {
		contribSlog := slog.New(otelslog.NewHandler("bench", otelslog.WithLoggerProvider(contribProvider(b))))
		ours := slog.New(slogbridge.NewHandler(nopHandler{}, slogbridge.WithLoggerProvider(ctxtrailProvider(b).LoggerProvider())))
		pairLines(b,
			func() { contribSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) },
			func() { ours.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) })
	})
	b.Run("zapbridge-OTel/otelzap", func(b *testing.B) {
		zc := zap.New(contrib.NewCore("bench", contrib.WithLoggerProvider(contribProvider(b))))
		ours := zapbridge.New(zap.New(nopCore{}), zapbridge.WithLoggerProvider(ctxtrailProvider(b).LoggerProvider()))
		zcard, zcents := lineFields()
		pairLines(b,
			func() { zc.Info(benchMsg, zap.Any("ctx", ctx), zcard, zcents) },
			func() { ours.Ctx(ctx).Info(benchMsg, zcard, zcents) })
	})
	// With the default queue (2,048) the export goroutine falls behind on a loaded machine and
	// otelctx refuses and counts records, which then cost less; the SDK's processor behind
	// contrib drops the oldest without a count. With a queue longer than a run neither drops.
	const bigQueue = 1 << 18
	b.Run("slogbridge-OTel-queue256k/otelslog-queue256k", func(b *testing.B) {
		contribSlog := slog.New(otelslog.NewHandler("bench", otelslog.WithLoggerProvider(contribProvider(b, bigQueue))))
		ours := slog.New(slogbridge.NewHandler(nopHandler{}, slogbridge.WithLoggerProvider(ctxtrailProvider(b, bigQueue).LoggerProvider())))
		pairLines(b,
			func() { contribSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) },
			func() { ours.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) })
	})
	b.Run("zapbridge-OTel-queue256k/otelzap-queue256k", func(b *testing.B) {
		zc := zap.New(contrib.NewCore("bench", contrib.WithLoggerProvider(contribProvider(b, bigQueue))))
		ours := zapbridge.New(zap.New(nopCore{}), zapbridge.WithLoggerProvider(ctxtrailProvider(b, bigQueue).LoggerProvider()))
		zcard, zcents := lineFields()
		pairLines(b,
			func() { zc.Info(benchMsg, zap.Any("ctx", ctx), zcard, zcents) },
			func() { ours.Ctx(ctx).Info(benchMsg, zcard, zcents) })
	})

	// Where the OTel path's CPU goes: the same pairs with the exporter side taken away step by step.
	// "bridge-only": both bridges emit into an enabled logger that drops the record (the bridge's
	// own conversion); "sdk-noop-processor": both go through the SDK's Logger.Emit into a
	// processor that does nothing (the bridge plus the SDK's record build, no batch queue).
	for _, v := range []struct {
		name string
		lp   func(b *testing.B) otellog.LoggerProvider
	}{
		{"bridge-only", func(*testing.B) otellog.LoggerProvider { return nopLogProvider{} }},
		{"sdk-noop-processor", func(b *testing.B) otellog.LoggerProvider { return noopSDKProvider(b) }},
	} {
		b.Run("slogbridge-OTel-"+v.name+"/otelslog-"+v.name, func(b *testing.B) {
			contribSlog := slog.New(otelslog.NewHandler("bench", otelslog.WithLoggerProvider(v.lp(b))))
			ours := slog.New(slogbridge.NewHandler(nopHandler{}, slogbridge.WithLoggerProvider(v.lp(b))))
			pairLines(b,
				func() { contribSlog.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) },
				func() { ours.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) })
		})
		b.Run("zapbridge-OTel-"+v.name+"/otelzap-"+v.name, func(b *testing.B) {
			zc := zap.New(contrib.NewCore("bench", contrib.WithLoggerProvider(v.lp(b))))
			ours := zapbridge.New(zap.New(nopCore{}), zapbridge.WithLoggerProvider(v.lp(b)))
			zcard, zcents := lineFields()
			pairLines(b,
				func() { zc.Info(benchMsg, zap.Any("ctx", ctx), zcard, zcents) },
				func() { ours.Ctx(ctx).Info(benchMsg, zcard, zcents) })
		})
	}

	// What a bridge could legally spare the SDK's Logger.Emit (no processor work: noopProcessor),
	// one change at a time against the record a bridge hands it today (two attributes, as above):
	// the observed timestamp set by the bridge (the SDK then reads no clock), and duplicate-key
	// checks switched off in the provider (the bridge would have to deduplicate instead).
	b.Run("sdk-emit-observed-ts/sdk-emit", func(b *testing.B) {
		l := noopSDKProvider(b).Logger("bench")
		now := time.Now()
		pairLines(b, func() { l.Emit(ctx, sdkRecord(now, false)) }, func() { l.Emit(ctx, sdkRecord(now, true)) })
	})
	b.Run("sdk-emit-allow-dup-keys/sdk-emit", func(b *testing.B) {
		l := noopSDKProvider(b).Logger("bench")
		dup := sdklog.NewLoggerProvider(sdklog.WithProcessor(noopProcessor{}), sdklog.WithAllowKeyDuplication())
		b.Cleanup(func() { _ = dup.Shutdown(context.Background()) })
		ld := dup.Logger("bench")
		now := time.Now()
		pairLines(b, func() { l.Emit(ctx, sdkRecord(now, false)) }, func() { ld.Emit(ctx, sdkRecord(now, false)) })
	})

	// The same bridges over the user's JSON output, with OTel records on top: the whole line.
	b.Run("slogbridge-JSON+OTel/otelslog+JSON-tee", func(b *testing.B) {
		lp := contribProvider(b)
		tee := slog.New(teeHandler{slog.NewJSONHandler(io.Discard, jsonOpts), otelslog.NewHandler("bench", otelslog.WithLoggerProvider(lp))})
		ours := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(io.Discard, jsonOpts),
			slogbridge.WithLoggerProvider(ctxtrailProvider(b).LoggerProvider())))
		pairLines(b,
			func() {
				tee.LogAttrs(ctx, slog.LevelInfo, benchMsg, slog.String("trace_id", tid), slog.String("span_id", sid), card, cents)
			},
			func() { ours.LogAttrs(ctx, slog.LevelInfo, benchMsg, card, cents) })
	})
}

// sdkRecord is the OpenTelemetry record a bridge makes for benchMsg with card and cents.
func sdkRecord(t time.Time, observed bool) otellog.Record {
	var r otellog.Record
	r.SetTimestamp(t)
	if observed {
		r.SetObservedTimestamp(t)
	}
	r.SetSeverity(otellog.SeverityInfo)
	r.SetSeverityText("INFO")
	r.SetBody(attribute.StringValue(benchMsg))
	r.AddAttributes(attribute.String("card", "visa"), attribute.Int("cents", 1250))
	return r
}

// teeHandler hands each record to two handlers, as slog.NewMultiHandler does.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}
func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	_ = t.a.Handle(ctx, r)
	return t.b.Handle(ctx, r)
}
func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}
func (t teeHandler) WithGroup(n string) slog.Handler {
	return teeHandler{t.a.WithGroup(n), t.b.WithGroup(n)}
}
