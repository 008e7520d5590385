package benchmarks

// Benchmarks for issue 6: a context-enriched zap line from ctxtrail/zapbridge against plain zap
// and go.opentelemetry.io/contrib/bridges/otelzap. Every zap logger writes production JSON to
// io.Discard at Info; the OpenTelemetry log SDK (for the bridge) exports through a
// SimpleProcessor to an exporter that drops records, the cheapest setup the bridge allows.
//
// github.com/uptrace/opentelemetry-go-extra/otelzap cannot be linked with OpenTelemetry v1.47
// (its otelutil uses the otel/log v0.x API, and otel v1.47 itself imports otel/log v1), so it
// runs in the uptrace/ module beside this one, with the same scenarios and its own PlainZap
// baseline. zapbridge-bench.sh runs both.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	contrib "go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const benchMsg = "charged card"

// lineFields are the message's own fields, the same for every contender.
func lineFields() (zap.Field, zap.Field) {
	return zap.String("card", "visa"), zap.Int("cents", 1250)
}

func jsonCore() zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel)
}

type dropExporter struct{}

func (dropExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (dropExporter) Shutdown(context.Context) error                { return nil }
func (dropExporter) ForceFlush(context.Context) error              { return nil }

// request is one simulated request: its context and, precomputed, what its lines carry.
type request struct {
	ctx                    context.Context
	traceID, spanID, reqID string
	user, route            string
	span                   trace.Span
	cancel                 context.CancelFunc
	withStore              bool
}

// newRequest builds a context the way the otelctx middleware does: a few server values, the
// request ID, then the server span; withStore adds two request-store fields.
func newRequest(tr trace.Tracer, n int, withStore bool) request {
	ctx := context.WithValue(context.Background(), serverKey{}, "srv")
	ctx, cancel := context.WithCancel(ctx)
	r := request{cancel: cancel, reqID: fmt.Sprintf("req-%08d", n), user: "ada", route: "/pay", withStore: withStore}
	if withStore {
		ctx = otelctx.WithRequestID(ctx, r.reqID)
	}
	ctx, r.span = tr.Start(ctx, "POST /pay")
	if withStore {
		ctx = otelctx.AddFields(ctx, attribute.String("user", r.user), attribute.String("route", r.route))
	}
	r.ctx = ctx
	sc := r.span.SpanContext()
	r.traceID, r.spanID = sc.TraceID().String(), sc.SpanID().String()
	return r
}

type serverKey struct{}

func (r *request) end() {
	r.span.End()
	r.cancel()
}

type contenders struct {
	plain     *zap.Logger
	bridge    *zapbridge.Logger
	bridgeZap *zap.Logger
	contrib   *zap.Logger
	tracer    trace.Tracer
	close     func()
}

func newContenders() *contenders {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(dropExporter{})))
	plain := zap.New(jsonCore())
	bridge := zapbridge.New(plain)
	return &contenders{
		plain:     plain,
		bridge:    bridge,
		bridgeZap: bridge.Zap(),
		// At Info like the others: the bridge's own Enabled asks the SDK, which takes every level.
		contrib: zap.New(contrib.NewCore("bench", contrib.WithLoggerProvider(lp)), zap.IncreaseLevel(zapcore.InfoLevel)),
		tracer:  tp.Tracer("bench"),
		close: func() {
			_ = tp.Shutdown(context.Background())
			_ = lp.Shutdown(context.Background())
		},
	}
}

// logFunc logs one Info line for r; its name is the benchmark's.
type logFunc struct {
	name string
	fn   func(c *contenders, r *request)
}

var enabledLines = []logFunc{
	{"PlainZap", func(c *contenders, r *request) {
		a, b := lineFields()
		c.plain.Info(benchMsg, a, b)
	}},
	// The goal's baseline: plain zap given the context's fields precomputed (two string IDs for
	// a bare span; IDs, request ID and two store fields for a full request).
	{"PlainZapPrecomputed", func(c *contenders, r *request) {
		a, b := lineFields()
		if r.withStore {
			c.plain.Info(benchMsg, zap.String("trace_id", r.traceID), zap.String("span_id", r.spanID),
				zap.String("request_id", r.reqID), zap.String("user", r.user), zap.String("route", r.route), a, b)
			return
		}
		c.plain.Info(benchMsg, zap.String("trace_id", r.traceID), zap.String("span_id", r.spanID), a, b)
	}},
	{"Ctxtrail", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridge.Ctx(r.ctx).Info(benchMsg, a, b)
	}},
	{"CtxtrailInfoContext", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridge.InfoContext(r.ctx, benchMsg, a, b)
	}},
	{"CtxtrailZapCore", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridgeZap.Info(benchMsg, zapbridge.Context(r.ctx), a, b)
	}},
	{"Contrib", func(c *contenders, r *request) {
		a, b := lineFields()
		c.contrib.Info(benchMsg, zap.Any("ctx", r.ctx), a, b)
	}},
}

var disabledLines = []logFunc{
	{"PlainZap", func(c *contenders, r *request) {
		a, b := lineFields()
		c.plain.Debug(benchMsg, a, b)
	}},
	{"Ctxtrail", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridge.Ctx(r.ctx).Debug(benchMsg, a, b)
	}},
	{"CtxtrailInfoContext", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridge.DebugContext(r.ctx, benchMsg, a, b)
	}},
	{"CtxtrailZapCore", func(c *contenders, r *request) {
		a, b := lineFields()
		c.bridgeZap.Debug(benchMsg, zapbridge.Context(r.ctx), a, b)
	}},
	{"Contrib", func(c *contenders, r *request) {
		a, b := lineFields()
		c.contrib.Debug(benchMsg, zap.Any("ctx", r.ctx), a, b)
	}},
}

// BenchmarkZapbridge logs one Info line per iteration from inside a request. "Span" is a context
// with only a span; "Request" adds a request ID and two request-store fields. Parallel runs give
// each goroutine its own request.
func BenchmarkZapbridge(b *testing.B) {
	c := newContenders()
	defer c.close()
	for _, scenario := range []struct {
		name  string
		store bool
	}{{"Span", false}, {"Request", true}} {
		for _, lf := range enabledLines {
			b.Run("scenario="+scenario.name+"/impl="+lf.name, func(b *testing.B) {
				r := newRequest(c.tracer, 0, scenario.store)
				defer r.end()
				b.ReportAllocs()
				cpu, n := startCPU(), 0
				for b.Loop() {
					lf.fn(c, &r)
					n++
				}
				cpu.report(b, n)
			})
		}
	}
	for _, lf := range disabledLines {
		b.Run("scenario=Disabled/impl="+lf.name, func(b *testing.B) {
			r := newRequest(c.tracer, 0, true)
			defer r.end()
			b.ReportAllocs()
			cpu, n := startCPU(), 0
			for b.Loop() {
				lf.fn(c, &r)
				n++
			}
			cpu.report(b, n)
		})
	}
}

// BenchmarkZapbridgeParallel is BenchmarkZapbridge's Request scenario on every core, one
// request per goroutine.
func BenchmarkZapbridgeParallel(b *testing.B) {
	c := newContenders()
	defer c.close()
	for _, lf := range enabledLines {
		b.Run("scenario=Request/impl="+lf.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			var next int
			var mu = make(chan struct{}, 1)
			b.RunParallel(func(pb *testing.PB) {
				mu <- struct{}{}
				next++
				r := newRequest(c.tracer, next, true)
				<-mu
				defer r.end()
				for pb.Next() {
					lf.fn(c, &r)
				}
			})
			cpu.report(b, b.N)
		})
	}
}

// BenchmarkZapbridgeCacheMiss is the worst case for ctxtrail's ID cache: every line comes from a
// different span, cycling through more spans than the cache holds, so the IDs are encoded on
// every line.
func BenchmarkZapbridgeCacheMiss(b *testing.B) {
	c := newContenders()
	defer c.close()
	const spans = 4096
	reqs := make([]request, spans)
	for i := range reqs {
		reqs[i] = newRequest(c.tracer, i, true)
	}
	defer func() {
		for i := range reqs {
			reqs[i].end()
		}
	}()
	for _, lf := range []logFunc{enabledLines[1], enabledLines[2]} {
		b.Run("scenario=Request/impl="+lf.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu, i := startCPU(), 0
			for b.Loop() {
				lf.fn(c, &reqs[i%spans])
				i++
			}
			cpu.report(b, i)
		})
	}
}

// cpuClock reads the process's CPU time (user and system, every thread: the garbage collector's
// work counts). On a shared machine, time spent descheduled inflates ns/op but not cpu-ns/op.
type cpuClock time.Duration

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report adds cpu-ns/op: CPU time since start over n operations.
func (start cpuClock) report(b *testing.B, n int) {
	if n > 0 {
		b.ReportMetric(float64(processCPU()-time.Duration(start))/float64(n), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// zapPairBlock is the lines per block in BenchmarkZapbridgePaired (a line costs 1–2 µs here, so
// a block is 1–2 ms); disabled calls, a hundred times cheaper, run in blocks 64 times longer.
var zapPairBlock = flag.Int("zap.pairblock", 1024, "lines per block in BenchmarkZapbridgePaired")

// BenchmarkZapbridgePaired measures zapbridge's two time goals with the paired-block method
// (internal/pairbench): the goal's baseline and the bridge run in alternating blocks in one
// process, the order of each pair drawn at random, so that this shared machine's load falls on
// both alike. The sub-benchmark is named pair=<other>-vs-<base>; it reports diff-ns/op (wall)
// and cpu-diff-ns/op, the medians of the per-pair differences per line: what the bridge adds,
// in nanoseconds, which the goals are stated in. A/A pairs run the baseline against itself:
// the method's own bias. Allocations are counted apart (testing.AllocsPerRun) per side.
//
//   - enrichment goal: Ctxtrail (Ctx(ctx).Info) and CtxtrailInfoContext against plain zap given
//     the two IDs as precomputed strings (Span scenario), ≤ +40 ns; the Request scenario (five
//     precomputed fields: IDs, request ID, two store fields) is shown beside it.
//   - disabled goal: a Debug line at Info, no fields, against an empty loop (the call's whole
//     cost), ≤ 10 ns; plain zap's own disabled Debug beside it; and with two fields built at the
//     call site against building the same fields alone (what the bridge adds to them).
func BenchmarkZapbridgePaired(b *testing.B) {
	c := newContenders()
	defer c.close()
	span, req := newRequest(c.tracer, 0, false), newRequest(c.tracer, 1, true)
	defer span.end()
	defer req.end()
	line := func(lf logFunc, r *request) func() { return func() { lf.fn(c, r) } }
	plainPre, ctxtrail, infoCtx := enabledLines[1], enabledLines[2], enabledLines[3]
	lines := []struct {
		name        string
		base, other func()
	}{
		{"AA-PlainZapPrecomputed/scenario=Span", line(plainPre, &span), line(plainPre, &span)},
		{"Ctxtrail-vs-PlainZapPrecomputed/scenario=Span", line(plainPre, &span), line(ctxtrail, &span)},
		{"CtxtrailInfoContext-vs-PlainZapPrecomputed/scenario=Span", line(plainPre, &span), line(infoCtx, &span)},
		{"Ctxtrail-vs-PlainZapPrecomputed/scenario=Request", line(plainPre, &req), line(ctxtrail, &req)},
	}
	for _, p := range lines {
		b.Run("pair="+p.name, func(b *testing.B) { pairZap(b, *zapPairBlock, p.base, p.other) })
	}

	ctx := req.ctx
	nothing := func() {}
	disabled := []struct {
		name        string
		base, other func()
	}{
		{"AA-Empty", nothing, nothing},
		{"CtxDebug-vs-Empty", nothing, func() { c.bridge.Ctx(ctx).Debug(benchMsg) }},
		{"DebugContext-vs-Empty", nothing, func() { c.bridge.DebugContext(ctx, benchMsg) }},
		{"PlainZapDebug-vs-Empty", nothing, func() { c.plain.Debug(benchMsg) }},
		{"DebugContextFields-vs-FieldsOnly", func() { sinkZapFields(lineFields()) }, func() {
			a, f := lineFields()
			c.bridge.DebugContext(ctx, benchMsg, a, f)
		}},
	}
	for _, p := range disabled {
		b.Run("pair="+p.name+"/scenario=Disabled", func(b *testing.B) { pairZap(b, 64**zapPairBlock, p.base, p.other) })
	}
}

// pairZap runs base and other with pairbench and reports the medians.
func pairZap(b *testing.B, block int, base, other func()) {
	baseAllocs, otherAllocs := testing.AllocsPerRun(200, base), testing.AllocsPerRun(200, other)
	loop := func(f func()) func(int) {
		return func(n int) {
			for range n {
				f()
			}
		}
	}
	b.ReportAllocs()
	r := pairbench.Run(b, block, loop(base), loop(other))
	b.ReportMetric(r.WallDiff, "diff-ns/op")
	b.ReportMetric(r.CPUDiff, "cpu-diff-ns/op")
	b.ReportMetric(r.WallRatio, "ratio")
	b.ReportMetric(r.CPURatio, "cpu-ratio")
	b.ReportMetric(r.PerOp(r.BaseWall), "base-ns/op")
	b.ReportMetric(r.PerOp(r.OtherWall), "other-ns/op")
	b.ReportMetric(baseAllocs, "base-allocs/op")
	b.ReportMetric(otherAllocs, "other-allocs/op")
}

// sinkZapFields takes two fields and does nothing: the cost of building them at a call site.
//
//go:noinline
func sinkZapFields(zap.Field, zap.Field) {}
