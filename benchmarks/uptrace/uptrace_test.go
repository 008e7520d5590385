// Package uptrace benchmarks github.com/uptrace/opentelemetry-go-extra/otelzap on the scenarios
// of ../zapbridge_test.go. It is a module of its own because that bridge cannot be linked with
// OpenTelemetry v1.47, which ctxtrail uses: its otelutil needs the otel/log v0.x API, while
// otel v1.47 itself imports otel/log v1. Its PlainZap rows are the baseline to compare against,
// run by run, since absolute times differ between the two binaries only by noise.
package uptrace

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/opentelemetry-go-extra/otelzap"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const benchMsg = "charged card"

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

type (
	serverKey    struct{}
	requestIDKey struct{}
	storeKey     struct{}
)

// request mirrors ../zapbridge_test.go's: the same context depth, with plain context values
// where ctxtrail has its request ID and request store (otelzap reads neither).
type request struct {
	ctx                    context.Context
	traceID, spanID, reqID string
	user, route            string
	span                   trace.Span
	cancel                 context.CancelFunc
	withStore              bool
}

func newRequest(tr trace.Tracer, n int, withStore bool) request {
	ctx := context.WithValue(context.Background(), serverKey{}, "srv")
	ctx, cancel := context.WithCancel(ctx)
	r := request{cancel: cancel, reqID: fmt.Sprintf("req-%08d", n), user: "ada", route: "/pay", withStore: withStore}
	if withStore {
		ctx = context.WithValue(ctx, requestIDKey{}, r.reqID)
	}
	ctx, r.span = tr.Start(ctx, "POST /pay")
	if withStore {
		ctx = context.WithValue(ctx, storeKey{}, [2]string{r.user, r.route})
	}
	r.ctx = ctx
	sc := r.span.SpanContext()
	r.traceID, r.spanID = sc.TraceID().String(), sc.SpanID().String()
	return r
}

func (r *request) end() {
	r.span.End()
	r.cancel()
}

type contenders struct {
	plain     *zap.Logger
	upDefault *otelzap.Logger
	upCorr    *otelzap.Logger
	tracer    trace.Tracer
	close     func()
}

func newContenders() *contenders {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(dropExporter{})))
	plain := zap.New(jsonCore())
	return &contenders{
		plain: plain,
		// The default sends only Warn and above to OpenTelemetry: an Info line is a plain zap
		// line and carries no trace context anywhere.
		upDefault: otelzap.New(plain, otelzap.WithLoggerProvider(lp)),
		// Correlated: every Info line is also an OpenTelemetry log record tied to the span.
		upCorr: otelzap.New(plain, otelzap.WithLoggerProvider(lp), otelzap.WithMinLevel(zapcore.InfoLevel)),
		tracer: tp.Tracer("bench"),
		close: func() {
			_ = tp.Shutdown(context.Background())
			_ = lp.Shutdown(context.Background())
		},
	}
}

type logFunc struct {
	name string
	fn   func(c *contenders, r *request)
}

var enabledLines = []logFunc{
	{"PlainZap", func(c *contenders, r *request) {
		a, b := lineFields()
		c.plain.Info(benchMsg, a, b)
	}},
	{"PlainZapPrecomputed", func(c *contenders, r *request) {
		a, b := lineFields()
		if r.withStore {
			c.plain.Info(benchMsg, zap.String("trace_id", r.traceID), zap.String("span_id", r.spanID),
				zap.String("request_id", r.reqID), zap.String("user", r.user), zap.String("route", r.route), a, b)
			return
		}
		c.plain.Info(benchMsg, zap.String("trace_id", r.traceID), zap.String("span_id", r.spanID), a, b)
	}},
	{"UptraceDefault", func(c *contenders, r *request) {
		a, b := lineFields()
		c.upDefault.Ctx(r.ctx).Info(benchMsg, a, b)
	}},
	{"UptraceCorrelated", func(c *contenders, r *request) {
		a, b := lineFields()
		c.upCorr.Ctx(r.ctx).Info(benchMsg, a, b)
	}},
}

var disabledLines = []logFunc{
	{"PlainZap", func(c *contenders, r *request) {
		a, b := lineFields()
		c.plain.Debug(benchMsg, a, b)
	}},
	{"UptraceCorrelated", func(c *contenders, r *request) {
		a, b := lineFields()
		c.upCorr.Ctx(r.ctx).Debug(benchMsg, a, b)
	}},
}

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

func BenchmarkZapbridgeParallel(b *testing.B) {
	c := newContenders()
	defer c.close()
	for _, lf := range enabledLines {
		b.Run("scenario=Request/impl="+lf.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			var next int
			mu := make(chan struct{}, 1)
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
