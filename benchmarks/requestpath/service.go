package requestpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ctxtrail/ctxtrail/spans"
	"go.uber.org/zap"
)

// Variant is one build of the service.
type Variant int

// The builds, in the order Compare runs them in each round.
const (
	// Uninstrumented writes plain zap lines and calls downstream without headers.
	Uninstrumented Variant = iota + 1
	// OTelStack is what a user wires by hand: the OpenTelemetry SDK, otelhttp on both sides, the
	// contrib otelzap bridge (teed with the JSON core) and an x-request-id middleware.
	OTelStack
	// CtxtrailDefaults is ctxtrail.Install, httpctx.NewHandler/NewTransport, spans.Run and
	// zapbridge, all with their defaults.
	CtxtrailDefaults
	// CtxtrailLoaded is CtxtrailDefaults plus a spans.Processor with all four hooks set, a
	// spans.Monitor, and trail's breadcrumbs (middleware, one crumb per step).
	CtxtrailLoaded
	// OTelStackMetrics is OTelStack with otelhttp's metrics recorded into a real SDK
	// MeterProvider (a manual reader) instead of the no-op one. Not in Variants(); see
	// MetricsVariants.
	OTelStackMetrics
	// CtxtrailMetrics is CtxtrailDefaults with its HTTP metrics recorded into a manual reader
	// (ctxtrail.WithMetricReader).
	CtxtrailMetrics
	// CtxtrailOTelLogs is CtxtrailDefaults with its log lines also sent to OpenTelemetry's logs
	// signal (zapbridge.WithLoggerProvider, batch processor, discarding exporter): the
	// like-for-like match of OTelStack, whose otelzap bridge does the same.
	CtxtrailOTelLogs
	// SDKFloor is the floor under every SDK-based build (floor.go): the same five spans with no
	// attributes, traceparent in and out, the request ID glue of OTelStack, plain log lines.
	SDKFloor
	// CtxtrailUnsampled, CtxtrailSampled1 and CtxtrailSampled10 are CtxtrailDefaults with head
	// sampling at 0%, 1% and 10% (TraceIDRatioBased, deciding by trace ID whatever the incoming
	// traceparent's flag), issue 20's comparison; see SamplingVariants. CtxtrailDefaults samples
	// 100%.
	CtxtrailUnsampled
	CtxtrailSampled1
	CtxtrailSampled10
	// SemconvFloor is SDKFloor with ctxtrail's output written by hand (semconvfloor.go): the same
	// span attributes, x-headers and IDs on the log lines. Not in Variants(); see FloorVariants.
	SemconvFloor
	// OTelStackUnsampled, OTelStackSampled1 and OTelStackSampled10 are OTelStack with the same
	// head sampling as CtxtrailUnsampled, CtxtrailSampled1 and CtxtrailSampled10 (issue 31).
	OTelStackUnsampled
	OTelStackSampled1
	OTelStackSampled10
	// SDKFloorUnsampled is SDKFloor sampling nothing: what the SDK's non-recording spans,
	// traceparent and the request ID glue cost when no span is kept (issue 31).
	SDKFloorUnsampled
	// SemconvFloorUnsampled is SemconvFloor sampling nothing: ctxtrail's output (x-headers, IDs
	// on every line, span attributes) written by hand on the SDK's non-recording spans, the
	// like-for-like floor of CtxtrailUnsampled (issue 31).
	SemconvFloorUnsampled
	// CtxtrailMonitorOff and CtxtrailMonitor are CtxtrailDefaults with a spans.Monitor, without
	// and with its latency table (issue 29, monitor.go); see MonitorVariants.
	CtxtrailMonitorOff
	CtxtrailMonitor
	// CtxtrailLabels is CtxtrailDefaults with spans/evidence's profile labels armed on both
	// services (issue 30, evidence.go). Not in Variants(); see EvidenceVariants.
	CtxtrailLabels
	// CtxtrailFlight is CtxtrailDefaults with spans/evidence's flight recorder armed on the
	// front service (no request slow enough to be captured). The runtime's recorder is
	// process-wide: it runs for every variant of the comparison. See FlightVariants.
	CtxtrailFlight
)

// FloorVariants returns the variants of the floor comparison (issue 19): the bare request, the
// SDK floor, the SDK with ctxtrail's output written by hand, ctxtrail and the OTel stack.
func FloorVariants() []Variant {
	return []Variant{Uninstrumented, SDKFloor, SemconvFloor, CtxtrailDefaults, OTelStack}
}

// SamplingVariants returns the variants of the head-sampling comparison (issues 20 and 31), in
// run order: ctxtrail and the OTel stack at 0%, 1%, 10% and 100% beside the uninstrumented
// build and the SDK floor sampling nothing.
func SamplingVariants() []Variant {
	return []Variant{Uninstrumented, SDKFloorUnsampled, OTelStackUnsampled, CtxtrailUnsampled,
		OTelStackSampled1, CtxtrailSampled1, OTelStackSampled10, CtxtrailSampled10, OTelStack, CtxtrailDefaults}
}

// UnsampledVariants returns the variants of the unsampled comparison (issue 31): the bare
// request, the SDK floor (bare and with ctxtrail's output by hand), the OTel stack and
// ctxtrail, all sampling nothing.
func UnsampledVariants() []Variant {
	return []Variant{Uninstrumented, SDKFloorUnsampled, SemconvFloorUnsampled, OTelStackUnsampled, CtxtrailUnsampled}
}

// SamplingRatio returns the share of requests variant v samples: 0 for Uninstrumented, 1 for
// the builds that sample everything.
func (v Variant) SamplingRatio() float64 {
	switch v {
	case Uninstrumented, CtxtrailUnsampled, OTelStackUnsampled, SDKFloorUnsampled, SemconvFloorUnsampled:
		return 0
	case CtxtrailSampled1, OTelStackSampled1, CtxtrailKeep1:
		return 0.01
	case CtxtrailRecordOnly, SDKFloorRecordOnly: // keep.go: recorded, never exported
		return 0
	case CtxtrailSampled10, OTelStackSampled10:
		return 0.1
	}
	return 1
}

// headSampled reports whether v's SDK samples by trace ID at SamplingRatio (as
// OTEL_TRACES_SAMPLER=traceidratio: the trace ID decides, not the incoming traceparent's flag,
// and both services decide alike) rather than keeping every span.
func (v Variant) headSampled() bool {
	switch v {
	case Uninstrumented, CtxtrailRecordOnly, SDKFloorRecordOnly: // keep.go: recordOnly decides
		return false
	}
	return v.SamplingRatio() < 1
}

// MetricsVariants returns the variants of the metrics comparison (issue 17), in run order.
func MetricsVariants() []Variant {
	return []Variant{CtxtrailDefaults, CtxtrailMetrics, OTelStackMetrics, OTelStack}
}

// Variants returns the variants of the main comparison, in run order.
func Variants() []Variant {
	return []Variant{Uninstrumented, OTelStack, CtxtrailDefaults, CtxtrailLoaded, CtxtrailOTelLogs, SDKFloor}
}

// String returns the variant's name as used in benchmark names and tables.
func (v Variant) String() string {
	if name, ok := keepVariantName(v); ok { // keep.go
		return name
	}
	switch v {
	case Uninstrumented:
		return "Uninstrumented"
	case OTelStack:
		return "OTelStack"
	case CtxtrailDefaults:
		return "CtxtrailDefaults"
	case CtxtrailLoaded:
		return "CtxtrailLoaded"
	case OTelStackMetrics:
		return "OTelStackMetrics"
	case CtxtrailMetrics:
		return "CtxtrailMetrics"
	case CtxtrailOTelLogs:
		return "CtxtrailOTelLogs"
	case SDKFloor:
		return "SDKFloor"
	case CtxtrailUnsampled:
		return "CtxtrailUnsampled"
	case CtxtrailSampled1:
		return "CtxtrailSampled1"
	case CtxtrailSampled10:
		return "CtxtrailSampled10"
	case SemconvFloor:
		return "SemconvFloor"
	case OTelStackUnsampled:
		return "OTelStackUnsampled"
	case OTelStackSampled1:
		return "OTelStackSampled1"
	case OTelStackSampled10:
		return "OTelStackSampled10"
	case SDKFloorUnsampled:
		return "SDKFloorUnsampled"
	case SemconvFloorUnsampled:
		return "SemconvFloorUnsampled"
	case CtxtrailMonitorOff, CtxtrailMonitor:
		return monitorVariantName(v)
	case CtxtrailLabels:
		return "CtxtrailLabels"
	case CtxtrailFlight:
		return "CtxtrailFlight"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ErrVariant is returned by Start for a Variant outside the four.
var ErrVariant = errors.New("requestpath: unknown variant")

// Paths the services serve.
const (
	FrontPath = "/cart"
	backPath  = "/stock"
	maxBody   = 4 << 10 // the downstream answer read at most
)

// Service is a running variant: the front service and its downstream, both on 127.0.0.1.
type Service struct {
	variant     Variant
	front, back *server
	base        *http.Transport // the front service's outbound connections
	flush       []func(context.Context) error
	shutdown    []func(context.Context) error
	loaded      *loadedParts                    // CtxtrailLoaded only
	monitor     *spans.Monitor                  // CtxtrailMonitorOff and CtxtrailMonitor only
	inner       func(http.Handler) http.Handler // CtxtrailLabels: inside httpctx.NewHandler
	logRecords  *discardLogExporter             // OTelStack and CtxtrailOTelLogs: the log records' exporter
}

// Start builds variant v and starts both its servers. Close stops them.
func Start(v Variant, opts ...Option) (*Service, error) {
	cfg := newConfig(opts)
	s := &Service{variant: v, base: newTransport(64)}
	back, err := listen()
	if err != nil {
		return nil, err
	}
	var front, down http.Handler
	switch v {
	case Uninstrumented:
		front, down = s.buildPlain(cfg, back.url)
	case OTelStack, OTelStackMetrics, OTelStackUnsampled, OTelStackSampled1, OTelStackSampled10:
		front, down = s.buildOTel(cfg, back.url)
	case CtxtrailDefaults, CtxtrailMetrics, CtxtrailUnsampled, CtxtrailSampled1, CtxtrailSampled10, CtxtrailMonitorOff, CtxtrailMonitor:
		front, down, err = s.buildCtxtrail(cfg, back.url, false)
	case CtxtrailLoaded:
		front, down, err = s.buildCtxtrail(cfg, back.url, true)
	case CtxtrailOTelLogs:
		front, down, err = s.buildCtxtrailLogs(cfg, back.url)
	case SDKFloor, SemconvFloor, SDKFloorUnsampled, SemconvFloorUnsampled:
		front, down = s.buildFloor(cfg, back.url, v == SemconvFloor || v == SemconvFloorUnsampled)
	case CtxtrailKeep1, CtxtrailRecordOnly: // keep.go
		front, down, err = s.buildCtxtrail(cfg, back.url, false)
	case SDKFloorRecordOnly:
		front, down = s.buildFloorRecordOnly(cfg, back.url)
	case CtxtrailLabels, CtxtrailFlight:
		front, down, err = s.buildCtxtrailEvidence(cfg, back.url, v == CtxtrailFlight)
	default:
		err = fmt.Errorf("%w: %d", ErrVariant, int(v))
	}
	if err != nil {
		back.ln.Close()
		s.closeTelemetry(context.Background())
		return nil, err
	}
	s.back = back.serve(down)
	fl, err := listen()
	if err != nil {
		_ = s.Close(context.Background())
		return nil, err
	}
	s.front = fl.serve(front)
	return s, nil
}

// Variant returns the service's variant.
func (s *Service) Variant() Variant { return s.variant }

// URL returns the URL of the front service's endpoint.
func (s *Service) URL() string { return s.front.url + FrontPath }

// Flush exports every span (and log record) the service has queued.
func (s *Service) Flush(ctx context.Context) error {
	var errs []error
	for _, f := range s.flush {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Close stops both servers, then flushes and shuts the telemetry down. It stops every
// goroutine the service started.
func (s *Service) Close(ctx context.Context) error {
	var errs []error
	if s.front != nil {
		errs = append(errs, s.front.close(ctx))
	}
	if s.back != nil {
		errs = append(errs, s.back.close(ctx))
	}
	s.base.CloseIdleConnections()
	errs = append(errs, s.closeTelemetry(ctx))
	return errors.Join(errs...)
}

func (s *Service) closeTelemetry(ctx context.Context) error {
	var errs []error
	for _, f := range s.shutdown {
		errs = append(errs, f(ctx))
	}
	s.shutdown, s.flush = nil, nil
	return errors.Join(errs...)
}

// newTransport returns a keep-alive transport for loopback calls.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

type listener struct {
	ln  net.Listener
	url string
}

func listen() (listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return listener{}, fmt.Errorf("requestpath: listen: %w", err)
	}
	return listener{ln: ln, url: "http://" + ln.Addr().String()}, nil
}

type server struct {
	srv  *http.Server
	url  string
	done chan struct{}
}

func (l listener) serve(h http.Handler) *server {
	s := &server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          nil,
		},
		url:  l.url,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l.ln) // returns ErrServerClosed after Shutdown
	}()
	return s
}

func (s *server) close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	select {
	case <-s.done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("requestpath: shutdown %s: %w", s.url, err)
	}
	return nil
}

// The log fields of the three lines, the same in every variant.
var (
	cartField  = zap.String("cart", "c-42")
	itemsField = zap.Int("items", 3)
	centsField = zap.Int("cents", 1250)
)

// fetch makes the downstream call with client; header, when not nil, adds headers by hand.
func fetch(ctx context.Context, client *http.Client, url string, header func(http.Header)) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("requestpath: downstream request: %w", err)
	}
	if header != nil {
		header(req.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("requestpath: downstream call: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("requestpath: downstream body: %w", err)
	}
	return body, resp.StatusCode, nil
}

// respond writes the front service's answer: "ok " and what downstream said.
func respond(w http.ResponseWriter, down []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	b := make([]byte, 0, 3+len(down))
	b = append(append(b, "ok "...), down...)
	_, _ = w.Write(b)
}

// stock is the downstream service: it answers with the x-request-id it received.
func stock(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, r.Header.Get("X-Request-Id"))
}
