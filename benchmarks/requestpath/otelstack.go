package requestpath

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"

	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// buildOTel is the service as a user wires it without ctxtrail: the SDK with a batch
// processor, otelhttp on the server and the client (metrics to a no-op meter provider, the
// cheapest it allows), W3C trace context and baggage, the contrib otelzap bridge teed with the
// JSON core, and the hand-written glue: an x-request-id middleware, a header set on the
// downstream call, and a log helper that adds the IDs to the JSON line.
func (s *Service) buildOTel(cfg config, backURL string) (front, down http.Handler) {
	res := resource.NewSchemaless(attribute.String("service.name", "requestpath"))
	tp := s.tracerProvider(cfg, res)
	logs := new(discardLogExporter)
	s.logRecords = logs
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(logs, sdklog.WithMaxQueueSize(QueueSize))))
	s.flush = append(s.flush, lp.ForceFlush)
	s.shutdown = append(s.shutdown, lp.Shutdown)

	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	var mp metric.MeterProvider = noop.NewMeterProvider()
	if s.variant == OTelStackMetrics { // metrics.go
		mp = s.sdkMeterProvider(res)
	}
	opts := []otelhttp.Option{
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
		otelhttp.WithMeterProvider(mp),
	}
	app := &otelApp{
		tracer: tp.Tracer("requestpath"),
		log: zap.New(zapcore.NewTee(withoutContext{cfg.jsonCore()},
			otelzap.NewCore("requestpath", otelzap.WithLoggerProvider(lp)))),
		client: &http.Client{Transport: otelhttp.NewTransport(s.base, opts...)},
		url:    backURL + backPath,
	}
	return otelhttp.NewHandler(requestIDs(app), "cart", opts...),
		otelhttp.NewHandler(requestIDs(http.HandlerFunc(stock)), "stock", opts...)
}

// tracerProvider is the SDK provider of the hand-wired builds: a batch processor with the
// comparison's queue size to the run's exporter, flushed and shut down with the service.
func (s *Service) tracerProvider(cfg config, res *resource.Resource) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res),
		sdktrace.WithBatcher(cfg.exporter, sdktrace.WithMaxQueueSize(QueueSize))}
	if s.variant.headSampled() {
		opts = append(opts, sdktrace.WithSampler(sdktrace.TraceIDRatioBased(s.variant.SamplingRatio())))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	s.flush = append(s.flush, tp.ForceFlush)
	s.shutdown = append(s.shutdown, tp.Shutdown)
	return tp
}

type otelApp struct {
	tracer trace.Tracer
	log    *zap.Logger
	client *http.Client
	url    string
}

func (a *otelApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, _ := ctx.Value(requestIDKey{}).(string)
	a.step(ctx, id, "load-cart", "cart loaded", itemsField)
	a.step(ctx, id, "price-cart", "cart priced", centsField)
	body, code, err := fetch(ctx, a.client, a.url, func(h http.Header) { h.Set("X-Request-Id", id) })
	if err != nil {
		a.info(ctx, id, "stock unavailable", zap.Error(err))
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	a.info(ctx, id, "stock checked", cartField, zap.Int("status", code))
	respond(w, body)
}

func (a *otelApp) step(ctx context.Context, id, name, msg string, f zap.Field) {
	ctx, span := a.tracer.Start(ctx, name)
	defer span.End()
	a.info(ctx, id, msg, cartField, f)
}

// info is the log helper a user writes: the IDs for the JSON line, the context for the bridge.
func (a *otelApp) info(ctx context.Context, id, msg string, fields ...zap.Field) {
	sc := trace.SpanContextFromContext(ctx)
	a.log.Info(msg, append(fields,
		zap.String("trace_id", sc.TraceID().String()),
		zap.String("span_id", sc.SpanID().String()),
		zap.String("request_id", id),
		zap.Any("ctx", ctx))...)
}

type requestIDKey struct{}

// requestIDs is the hand-written x-request-id middleware: keep a safe incoming ID or make one,
// echo it on the response, put it in the context.
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !safeID(id) {
			id = newID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func safeID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// withoutContext keeps the context field the otelzap bridge reads out of the JSON line (zap
// would print it with context's String method, every value of the chain included).
type withoutContext struct{ zapcore.Core }

func (c withoutContext) With(fields []zapcore.Field) zapcore.Core {
	return withoutContext{c.Core.With(dropContext(fields))}
}

func (c withoutContext) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c withoutContext) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	return c.Core.Write(ent, dropContext(fields))
}

func dropContext(fields []zapcore.Field) []zapcore.Field {
	for i, f := range fields {
		if _, ok := f.Interface.(context.Context); ok {
			out := make([]zapcore.Field, 0, len(fields)-1)
			out = append(out, fields[:i]...)
			for _, g := range fields[i+1:] {
				if _, ok := g.Interface.(context.Context); !ok {
					out = append(out, g)
				}
			}
			return out
		}
	}
	return fields
}
