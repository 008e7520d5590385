package requestpath

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// buildFloor is the least any instrumentation built on the SDK's span pipeline can cost this
// request, the floor under both OTelStack and ctxtrail (issue 19): the same SDK, batch processor
// and exporter, the same five spans but without a single attribute, the SDK's W3C traceparent
// extracted and injected by hand, the request ID kept, forwarded and echoed by the same glue
// OTelStack uses, and the plain log lines of Uninstrumented (no IDs on them). With semconv it
// builds SemconvFloor instead (semconvfloor.go).
func (s *Service) buildFloor(cfg config, backURL string, semconv bool) (front, down http.Handler) {
	tp := s.tracerProvider(cfg, resource.NewSchemaless(attribute.String("service.name", "requestpath")))
	tr := tp.Tracer("requestpath")
	app := &floorApp{
		tracer: tr,
		log:    zap.New(cfg.jsonCore()),
		client: &http.Client{Transport: floorTransport{tracer: tr, base: s.base}},
		url:    backURL + backPath,
	}
	server := floorServer
	if semconv { // SemconvFloor: semconvfloor.go
		app.client.Transport, app.ids, server = semconvTransport{tracer: tr, base: s.base}, true, semconvServer
	}
	return server(tr, requestIDs(app)), server(tr, requestIDs(http.HandlerFunc(stock)))
}

var floorProp = propagation.TraceContext{}

// floorServer starts the server span from the incoming traceparent and ends it when next returns.
func floorServer(tr trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := floorProp.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tr.Start(ctx, "server", trace.WithSpanKind(trace.SpanKindServer))
		next.ServeHTTP(w, r.WithContext(ctx))
		span.End()
	})
}

// floorTransport starts the client span and injects traceparent; the span ends with the round
// trip (the body is not waited for: the floor takes every shortcut).
type floorTransport struct {
	tracer trace.Tracer
	base   http.RoundTripper
}

func (t floorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(r.Context(), "GET", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	floorProp.Inject(ctx, propagation.HeaderCarrier(r2.Header))
	return t.base.RoundTrip(r2)
}

type floorApp struct {
	tracer trace.Tracer
	log    *zap.Logger
	client *http.Client
	url    string
	ids    bool // SemconvFloor: the lines carry the request's IDs (semconvfloor.go)
}

func (a *floorApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, _ := ctx.Value(requestIDKey{}).(string)
	a.step(ctx, "load-cart", "cart loaded", itemsField)
	a.step(ctx, "price-cart", "cart priced", centsField)
	body, code, err := fetch(ctx, a.client, a.url, func(h http.Header) { h.Set("X-Request-Id", id) })
	if err != nil {
		a.log.Error("stock unavailable", zap.Error(err))
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	if a.ids {
		f := idFields(ctx)
		a.log.Info("stock checked", f[0], f[1], f[2], f[3], f[4], cartField, zap.Int("status", code))
	} else {
		a.log.Info("stock checked", cartField, zap.Int("status", code))
	}
	respond(w, body)
}

func (a *floorApp) step(ctx context.Context, name, msg string, f zap.Field) {
	ctx, span := a.tracer.Start(ctx, name)
	if a.ids {
		ids := idFields(ctx)
		a.log.Info(msg, ids[0], ids[1], ids[2], ids[3], ids[4], cartField, f)
	} else {
		a.log.Info(msg, cartField, f)
	}
	span.End()
}
