package requestpath

import (
	"net/http"

	"github.com/ctxtrail/ctxtrail"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
)

// The builds of the capture's comparison (issue 31), numbered apart from the others.
const (
	// CtxtrailKeep1 is CtxtrailSampled1 with the in-process capture on
	// (ctxtrail.WithKeepErrorsAndSlow): every span is recorded and buffered, and a request that
	// neither fails nor is slow (all of them, here) is dropped unless the head sampled it.
	CtxtrailKeep1 Variant = 100 + iota
	// CtxtrailRecordOnly is CtxtrailDefaults whose sampler records every span and samples none
	// (RecordOnly), with no capture: the cost of recording alone, under ctxtrail.
	CtxtrailRecordOnly
	// SDKFloorRecordOnly is SDKFloor whose sampler records every span and samples none: the
	// floor of recording, the SDK alone.
	SDKFloorRecordOnly
)

// KeepVariants returns the variants of the capture's comparison, in run order.
func KeepVariants() []Variant {
	return []Variant{Uninstrumented, CtxtrailSampled1, CtxtrailKeep1, CtxtrailRecordOnly, SDKFloor, SDKFloorRecordOnly}
}

func keepVariantName(v Variant) (string, bool) {
	switch v {
	case CtxtrailKeep1:
		return "CtxtrailKeep1", true
	case CtxtrailRecordOnly:
		return "CtxtrailRecordOnly", true
	case SDKFloorRecordOnly:
		return "SDKFloorRecordOnly", true
	}
	return "", false
}

// keepOptions are the Install options of the capture's variants.
func keepOptions(v Variant) []ctxtrail.Option {
	switch v {
	case CtxtrailKeep1: // its 1% head sampler comes with every head-sampled variant's (headSampled)
		return []ctxtrail.Option{ctxtrail.WithKeepErrorsAndSlow()}
	case CtxtrailRecordOnly:
		return []ctxtrail.Option{ctxtrail.WithSampler(recordOnly{})}
	}
	return nil
}

// recordOnly records every span and samples none.
type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
}
func (recordOnly) Description() string { return "RecordOnly" }

// buildFloorRecordOnly is buildFloor under the recordOnly sampler.
func (s *Service) buildFloorRecordOnly(cfg config, backURL string) (front, down http.Handler) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(recordOnly{}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "requestpath"))),
		sdktrace.WithBatcher(cfg.exporter, sdktrace.WithMaxQueueSize(QueueSize)))
	s.flush = append(s.flush, tp.ForceFlush)
	s.shutdown = append(s.shutdown, tp.Shutdown)
	tr := tp.Tracer("requestpath")
	app := &floorApp{tracer: tr, log: zap.New(cfg.jsonCore()),
		client: &http.Client{Transport: floorTransport{tracer: tr, base: s.base}}, url: backURL + backPath}
	return floorServer(tr, requestIDs(app)), floorServer(tr, requestIDs(http.HandlerFunc(stock)))
}
