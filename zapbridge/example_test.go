package zapbridge_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// sequentialIDs gives spans predictable IDs so that the examples' output is stable.
type sequentialIDs struct {
	mu sync.Mutex
	n  byte
}

func (g *sequentialIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 15: g.n}, trace.SpanID{0x00, 0xf0, 7: g.n}
}

func (g *sequentialIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return trace.SpanID{0x00, 0xf0, 7: g.n}
}

// newTracer returns a tracer with predictable IDs that records ended spans.
func newTracer() (trace.Tracer, *tracetest.SpanRecorder, func()) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(&sequentialIDs{}))
	return tp.Tracer("example"), rec, func() { _ = tp.Shutdown(context.Background()) }
}

// stdoutLogger is a production JSON zap logger without timestamps, writing to stdout.
func stdoutLogger() *zap.Logger {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = ""
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(os.Stdout), zapcore.DebugLevel))
}

// discardLogger logs everything to nowhere: for examples about what a line does besides being
// written. (Over zap.NewNop nothing is enabled, so a line would do nothing at all.)
func discardLogger() *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.DebugLevel))
}

func ExampleLogger_Ctx() {
	tracer, _, shutdown := newTracer()
	defer shutdown()
	log := zapbridge.New(stdoutLogger())

	// What the otelctx middleware and the handler put in the request's context.
	ctx := otelctx.WithRequestID(context.Background(), "req-42")
	ctx, span := tracer.Start(ctx, "POST /pay")
	defer span.End()
	ctx = otelctx.AddFields(ctx, attribute.String("user", "ada"))

	log.Ctx(ctx).Info("charged", zap.Int("cents", 1250))
	log.InfoContext(ctx, "receipt sent") // the same, as a method
	// Output:
	// {"level":"info","msg":"charged","trace_id":"4bf92f35000000000000000000000001","span_id":"00f0000000000001","request_id":"req-42","user":"ada","cents":1250}
	// {"level":"info","msg":"receipt sent","trace_id":"4bf92f35000000000000000000000001","span_id":"00f0000000000001","request_id":"req-42","user":"ada"}
}

func ExampleContext() {
	tracer, _, shutdown := newTracer()
	defer shutdown()

	// Code that holds only a *zap.Logger: wrap its core once, then pass the context as a field.
	zl := stdoutLogger().WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapbridge.NewCore(c)
	}))
	ctx, span := tracer.Start(context.Background(), "job")
	defer span.End()

	zl.Info("started", zapbridge.Context(ctx))
	zl.Info("no context, no ids")
	// Output:
	// {"level":"info","msg":"started","trace_id":"4bf92f35000000000000000000000001","span_id":"00f0000000000001"}
	// {"level":"info","msg":"no context, no ids"}
}

func ExampleWithParentSpanIDKey() {
	tracer, _, shutdown := newTracer()
	defer shutdown()
	log := zapbridge.New(stdoutLogger(), zapbridge.WithParentSpanIDKey(zapbridge.DefaultParentSpanIDKey),
		zapbridge.WithTraceIDKey("trace"), zapbridge.WithSpanIDKey("span"))

	ctx, root := tracer.Start(context.Background(), "request")
	defer root.End()
	child, span := tracer.Start(ctx, "query")
	defer span.End()

	log.Ctx(ctx).Info("root")
	log.Ctx(child).Info("child")
	// Output:
	// {"level":"info","msg":"root","trace":"4bf92f35000000000000000000000001","span":"00f0000000000001"}
	// {"level":"info","msg":"child","trace":"4bf92f35000000000000000000000001","span":"00f0000000000002","parent_span_id":"00f0000000000001"}
}

func ExampleWithBaggageMembers() {
	log := zapbridge.New(stdoutLogger(), zapbridge.WithBaggageMembers("tenant"))
	tenant, _ := baggage.NewMember("tenant", "acme")
	secret, _ := baggage.NewMember("session", "s3cr3t")
	bag, _ := baggage.New(tenant, secret)
	ctx := baggage.ContextWithBaggage(context.Background(), bag)

	log.Ctx(ctx).Info("only the chosen member is written")
	// Output:
	// {"level":"info","msg":"only the chosen member is written","tenant":"acme"}
}

func ExampleWithSpanEvents() {
	tracer, rec, shutdown := newTracer()
	defer shutdown()
	log := zapbridge.New(discardLogger(), zapbridge.WithSpanEvents(zapcore.WarnLevel))

	ctx, span := tracer.Start(context.Background(), "request")
	log.Ctx(ctx).Info("not mirrored")
	log.Ctx(ctx).Warn("slow upstream", zap.Int("ms", 1200))
	log.Ctx(ctx).Error("upstream failed")
	span.End()

	s := rec.Ended()[0]
	for _, ev := range s.Events() {
		fmt.Print(ev.Name, ":")
		for _, kv := range ev.Attributes {
			fmt.Print(" ", kv.Key, "=", kv.Value.String())
		}
		fmt.Println()
	}
	fmt.Println("status:", s.Status().Code, s.Status().Description)
	// Output:
	// log: log.message=slow upstream log.severity=WARN ms=1200
	// log: log.message=upstream failed log.severity=ERROR
	// status: Error upstream failed
}

func ExampleWithErrorHook() {
	crumbs := func(ctx context.Context, ent zapcore.Entry) {
		// An error tracker would add a breadcrumb to the request's trail here.
		fmt.Printf("crumb for %s: %s %q\n", otelctx.RequestID(ctx), ent.Level, ent.Message)
	}
	log := zapbridge.New(discardLogger(), zapbridge.WithErrorHook(crumbs))
	ctx := otelctx.WithRequestID(context.Background(), "req-7")

	log.Ctx(ctx).Info("fine")
	log.Ctx(ctx).Error("card declined")
	// Output:
	// crumb for req-7: error "card declined"
}
