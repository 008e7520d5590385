package slogbridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/slogbridge"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
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

func newTracer() (trace.Tracer, *tracetest.SpanRecorder, func()) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(&sequentialIDs{}))
	return tp.Tracer("example"), rec, func() { _ = tp.Shutdown(context.Background()) }
}

// stdoutJSON is a JSONHandler without timestamps, writing to stdout.
func stdoutJSON() slog.Handler {
	return slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
}

func ExampleNewHandler() {
	tr, _, stop := newTracer()
	defer stop()
	log := slog.New(slogbridge.NewHandler(stdoutJSON()))

	ctx := otelctx.WithRequestID(context.Background(), "req-1")
	ctx = otelctx.AddFields(ctx, attribute.String("user", "ada"))
	ctx, span := tr.Start(ctx, "charge")
	log.InfoContext(ctx, "charged", "cents", 1250)
	span.End()
	log.Info("no context, no IDs")
	// Output:
	// {"level":"INFO","msg":"charged","trace_id":"4bf92f35000000000000000000000001","span_id":"00f0000000000001","request_id":"req-1","user":"ada","cents":1250}
	// {"level":"INFO","msg":"no context, no IDs"}
}

// The IDs stay at the top level inside a group, where a log search finds them.
func ExampleNewHandler_groups() {
	tr, _, stop := newTracer()
	defer stop()
	log := slog.New(slogbridge.NewHandler(stdoutJSON()))

	ctx, span := tr.Start(context.Background(), "GET /orders")
	log.WithGroup("http").With("method", "GET").InfoContext(ctx, "served", "status", 200)
	span.End()
	// Output:
	// {"level":"INFO","msg":"served","trace_id":"4bf92f35000000000000000000000001","span_id":"00f0000000000001","http":{"method":"GET","status":200}}
}

func ExampleWithSpanEvents() {
	tr, rec, stop := newTracer()
	defer stop()
	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(discard{}, nil), slogbridge.WithSpanEvents(slog.LevelWarn)))

	ctx, span := tr.Start(context.Background(), "charge")
	log.InfoContext(ctx, "not mirrored")
	log.ErrorContext(ctx, "card declined", "cents", 1250)
	span.End()

	s := rec.Ended()[0]
	for _, ev := range s.Events() {
		for _, kv := range ev.Attributes {
			if kv.Key == "log.message" || kv.Key == "log.severity" || kv.Key == "cents" {
				fmt.Printf("%s %s=%s\n", ev.Name, kv.Key, kv.Value.Emit())
			}
		}
	}
	fmt.Println("status:", s.Status().Code)
	// Output:
	// log log.message=card declined
	// log log.severity=ERROR
	// log cents=1250
	// status: Error
}

func ExampleWithErrorHook() {
	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(discard{}, nil),
		slogbridge.WithErrorHook(trail.SlogBreadcrumb)))

	ctx := trail.Start(context.Background())
	log.InfoContext(ctx, "cart loaded")
	log.ErrorContext(ctx, "card declined")
	for _, b := range trail.FromContext(ctx).Breadcrumbs() {
		fmt.Println(b.Category, b.Level, b.Message)
	}
	// Output:
	// log error card declined
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// printProcessor prints the records an OpenTelemetry logger provider is given.
type printProcessor struct{}

func (printProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	fmt.Println(r.Severity(), r.Body().AsString(), "trace", r.TraceID(), "span", r.SpanID())
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		fmt.Printf("  %s=%s\n", kv.Key, kv.Value.Emit())
		return true
	})
	return nil
}
func (printProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (printProcessor) Shutdown(context.Context) error                         { return nil }
func (printProcessor) ForceFlush(context.Context) error                       { return nil }

// With otelctx, pass p.LoggerProvider() instead: records then go to the OTLP collector.
func ExampleWithLoggerProvider() {
	tr, _, stop := newTracer()
	defer stop()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(printProcessor{}))
	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(discard{}, nil), slogbridge.WithLoggerProvider(lp)))

	ctx, span := tr.Start(otelctx.WithRequestID(context.Background(), "req-1"), "charge")
	log.WithGroup("card").WarnContext(ctx, "retrying", "attempt", 2)
	span.End()
	// Output:
	// WARN retrying trace 4bf92f35000000000000000000000001 span 00f0000000000001
	//   request_id=req-1
	//   card.attempt=2
}
