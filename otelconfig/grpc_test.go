package otelconfig_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelconfig"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the file asks the exporters for gzip
	"google.golang.org/grpc/metadata"
)

// grpcCollector is a loopback OTLP/gRPC receiver of the three signals: what each export carried
// and the header the file gives every exporter.
type grpcCollector struct {
	coltrace.UnimplementedTraceServiceServer
	mu      sync.Mutex
	got     map[string]int      // signal -> spans, data points' metrics or log records received
	headers map[string][]string // signal -> x-file-header values seen
}

func (c *grpcCollector) note(ctx context.Context, signal string, n int) {
	md, _ := metadata.FromIncomingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[signal] += n
	c.headers[signal] = append(c.headers[signal], md.Get("x-file-header")...)
}

func (c *grpcCollector) Export(ctx context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	c.note(ctx, "traces", n)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

type grpcLogs struct {
	collogs.UnimplementedLogsServiceServer
	c *grpcCollector
}

func (s grpcLogs) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	n := 0
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			n += len(sl.LogRecords)
		}
	}
	s.c.note(ctx, "logs", n)
	return &collogs.ExportLogsServiceResponse{}, nil
}

type grpcMetrics struct {
	colmetrics.UnimplementedMetricsServiceServer
	c *grpcCollector
}

func (s grpcMetrics) Export(ctx context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	n := 0
	for _, rm := range req.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name == "orders.read" {
					n++
				}
			}
		}
	}
	s.c.note(ctx, "metrics", n)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

// A file's otlp_grpc exporters reach a gRPC collector for each signal, over plain gRPC for an
// http endpoint, gzip-compressed, with the file's headers.
func TestOTLPGRPCExporters(t *testing.T) {
	blankOTELEnv(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &grpcCollector{got: map[string]int{}, headers: map[string][]string{}}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, col)
	collogs.RegisterLogsServiceServer(srv, grpcLogs{c: col})
	colmetrics.RegisterMetricsServiceServer(srv, grpcMetrics{c: col})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	exporter := fmt.Sprintf(`{otlp_grpc: {endpoint: "http://%s", compression: gzip, timeout: 5000, headers: [{name: x-file-header, value: from-file}]}}`, lis.Addr())
	conf, err := otelconfig.Parse("grpc.yaml", []byte(`file_format: "1.0"
tracer_provider: {processors: [{batch: {exporter: `+exporter+`}}]}
logger_provider: {processors: [{batch: {exporter: `+exporter+`}}]}
meter_provider: {readers: [{periodic: {interval: 60000, exporter: `+exporter+`}}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := install(t, conf.Option())
	ctx := context.Background()
	_, span := p.Tracer("t").Start(ctx, "op")
	span.End()
	var rec log.Record
	rec.SetBody(attribute.StringValue("order read"))
	p.LoggerProvider().Logger("orders").Emit(ctx, rec)
	c, _ := p.Meter("orders").Int64Counter("orders.read")
	c.Add(ctx, 1)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil { // flushes the three signals
		t.Fatalf("Shutdown: %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, signal := range []string{"traces", "logs", "metrics"} {
		if col.got[signal] != 1 {
			t.Errorf("%s: collector received %d, want 1", signal, col.got[signal])
		}
		if h := col.headers[signal]; len(h) == 0 || slices.ContainsFunc(h, func(v string) bool { return v != "from-file" }) {
			t.Errorf("%s: x-file-header %q, want the file's from-file on every export", signal, h)
		}
	}
}
