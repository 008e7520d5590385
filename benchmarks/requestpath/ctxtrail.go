package requestpath

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailzap"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
)

// buildCtxtrail is the service on ctxtrail: Install (no globals), the otelctx middleware and
// transport, spans.Run for the steps and zapbridge for the lines. Loaded adds a Processor with
// all four hooks, a Monitor, trail's middleware on both services and a breadcrumb per step.
func (s *Service) buildCtxtrail(cfg config, backURL string, loaded bool) (front, down http.Handler, err error) {
	return s.buildCtxtrailWith(cfg, backURL, loaded, false)
}

// buildCtxtrailLogs is CtxtrailDefaults whose lines also become OpenTelemetry log records,
// batched with the same queue size as OTelStack's and dropped by the same kind of exporter.
func (s *Service) buildCtxtrailLogs(cfg config, backURL string) (front, down http.Handler, err error) {
	return s.buildCtxtrailWith(cfg, backURL, false, true)
}

func (s *Service) buildCtxtrailWith(cfg config, backURL string, loaded, otelLogs bool) (front, down http.Handler, err error) {
	opts := []ctxtrail.Option{
		ctxtrail.WithServiceName("requestpath"),
		ctxtrail.WithExporter(cfg.exporter),
		ctxtrail.WithBatchOptions(sdktrace.WithMaxQueueSize(QueueSize)),
		ctxtrail.WithoutGlobal(),
	}
	if s.variant.headSampled() { // issue 20's head sampling
		opts = append(opts, ctxtrail.WithSampler(sdktrace.TraceIDRatioBased(s.variant.SamplingRatio())))
	}
	opts = append(opts, keepOptions(s.variant)...)
	if s.variant == CtxtrailMetrics { // metrics.go
		opts = append(opts, ctxtrail.WithMetricReader(sdkmetric.NewManualReader()))
	}
	opts = append(opts, s.monitorOptions()...) // monitor.go
	var zopts []zapbridge.Option
	if loaded {
		s.loaded = newLoadedParts()
		opts = append(opts, ctxtrail.WithSpanProcessor(s.loaded.processor), ctxtrail.WithSpanProcessor(s.loaded.monitor))
		zopts = append(zopts, zapbridge.WithErrorHook(trailzap.LogBreadcrumb))
	}
	if otelLogs {
		s.logRecords = new(discardLogExporter)
		opts = append(opts, ctxtrail.WithLogExporter(s.logRecords),
			ctxtrail.WithLogBatch(ctxtrail.LogBatch{QueueSize: QueueSize}))
	} else {
		opts = append(opts, ctxtrail.WithoutLogs())
	}
	p, err := ctxtrail.Install(context.Background(), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("requestpath: install: %w", err)
	}
	if otelLogs {
		zopts = append(zopts, zapbridge.WithLoggerProvider(p.LoggerProvider()))
	}
	s.flush = append(s.flush, p.ForceFlush)
	s.shutdown = append(s.shutdown, p.Shutdown)

	app := &ctxtrailApp{
		log:    zapbridge.New(zap.New(cfg.jsonCore()), zopts...),
		client: &http.Client{Transport: httpctx.NewTransport(s.base, httpctx.WithProvider(p))},
		url:    backURL + backPath,
		crumbs: loaded,
	}
	front, down = app, http.HandlerFunc(stock)
	if loaded {
		front, down = trail.NewHandler(front), trail.NewHandler(down)
	}
	if s.inner != nil {
		front, down = s.inner(front), s.inner(down)
	}
	return httpctx.NewHandler(front, httpctx.WithProvider(p)), httpctx.NewHandler(down, httpctx.WithProvider(p)), nil
}

type ctxtrailApp struct {
	log    *zapbridge.Logger
	client *http.Client
	url    string
	crumbs bool
}

func (a *ctxtrailApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_ = spans.Run(ctx, "load-cart", func(ctx context.Context) error {
		if a.crumbs {
			trail.AddBreadcrumb(ctx, "cart loaded", attribute.Int("items", 3))
		}
		a.log.Ctx(ctx).Info("cart loaded", cartField, itemsField)
		return nil
	})
	_ = spans.Run(ctx, "price-cart", func(ctx context.Context) error {
		if a.crumbs {
			trail.AddBreadcrumb(ctx, "cart priced", attribute.Int("cents", 1250))
		}
		a.log.Ctx(ctx).Info("cart priced", cartField, centsField)
		return nil
	})
	body, code, err := fetch(ctx, a.client, a.url, nil)
	if err != nil {
		a.log.Ctx(ctx).Error("stock unavailable", zap.Error(err))
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	a.log.Ctx(ctx).Info("stock checked", cartField, zap.Int("status", code))
	respond(w, body)
}

// loadedParts are the extras of CtxtrailLoaded. The hooks do trivial work: they count.
type loadedParts struct {
	processor                    *spans.Processor
	monitor                      *spans.Monitor
	init, before, after, destroy atomic.Uint64
}

func newLoadedParts() *loadedParts {
	lp := new(loadedParts)
	lp.processor = spans.NewProcessor(spans.WithHooks(spans.Hooks{
		Init:    func(spans.InitInfo) { lp.init.Add(1) },
		Before:  func(spans.CallInfo) { lp.before.Add(1) },
		After:   func(spans.AfterInfo) { lp.after.Add(1) },
		Destroy: func(spans.DestroyInfo) { lp.destroy.Add(1) },
	}))
	lp.monitor = spans.NewMonitor()
	return lp
}
