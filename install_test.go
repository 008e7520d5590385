package ctxtrail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otelEnv lists every variable Install reads; clearEnv blanks them so the machine's own
// environment cannot change a test's outcome.
var otelEnv = []string{
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_PROPAGATORS",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_SDK_DISABLED",
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range otelEnv {
		t.Setenv(k, "")
	}
}

func install(t *testing.T, opts ...Option) *Provider {
	t.Helper()
	p, err := Install(context.Background(), append([]Option{WithoutGlobal()}, opts...)...)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		// Bounded, so that a test failing with an export stuck does not hang here.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

// parentChild makes a server span with one child and returns their contexts.
func parentChild(p *Provider) (parent, child trace.SpanContext) {
	tr := p.Tracer("test")
	ctx, ps := tr.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer))
	_, cs := tr.Start(ctx, "load order")
	cs.SetAttributes(attribute.String("order.id", "o-1"))
	cs.SetStatus(codes.Error, "not found")
	cs.End()
	ps.End()
	return ps.SpanContext(), cs.SpanContext()
}

type stdoutSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	SpanKind    int
	Attributes  []struct {
		Key   string
		Value struct{ Type, Value any }
	}
	Status   struct{ Code, Description string }
	Resource []struct {
		Key   string
		Value struct{ Type, Value any }
	}
}

func (s stdoutSpan) resource(key string) any {
	for _, kv := range s.Resource {
		if kv.Key == key {
			return kv.Value.Value
		}
	}
	return nil
}

func TestInstallStdoutJSONLines(t *testing.T) {
	clearEnv(t)
	var buf bytes.Buffer
	p := install(t, WithWriter(&buf), WithServiceName("orders"))
	if got := p.Exporters(); len(got) != 1 || got[0] != ExporterConsole {
		t.Fatalf("exporters %v, want [console]", got)
	}
	parent, child := parentChild(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var spans []stdoutSpan
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var s stdoutSpan
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", sc.Text(), err)
		}
		spans = append(spans, s)
	}
	if len(spans) != 2 {
		t.Fatalf("%d JSON lines, want 2", len(spans))
	}
	c, s := spans[0], spans[1] // the child ends first
	if c.Name != "load order" || s.Name != "GET /orders" {
		t.Fatalf("names %q, %q", c.Name, s.Name)
	}
	if c.SpanContext.TraceID != child.TraceID().String() || c.SpanContext.SpanID != child.SpanID().String() {
		t.Errorf("child ids %+v, want %s/%s", c.SpanContext, child.TraceID(), child.SpanID())
	}
	if c.Parent.SpanID != parent.SpanID().String() || c.Parent.TraceID != parent.TraceID().String() {
		t.Errorf("child's parent %+v, want %s", c.Parent, parent.SpanID())
	}
	if s.Parent.SpanID != "0000000000000000" {
		t.Errorf("root has parent %q", s.Parent.SpanID)
	}
	if s.SpanKind != int(trace.SpanKindServer) {
		t.Errorf("server span kind %d", s.SpanKind)
	}
	if c.Status.Code != "Error" || c.Status.Description != "not found" {
		t.Errorf("child status %+v", c.Status)
	}
	if len(c.Attributes) != 1 || c.Attributes[0].Key != "order.id" || c.Attributes[0].Value.Value != "o-1" {
		t.Errorf("child attributes %+v", c.Attributes)
	}
	if got := s.resource("service.name"); got != "orders" {
		t.Errorf("service.name %v", got)
	}
	for _, k := range []string{"host.name", "process.pid", "process.runtime.name", "telemetry.sdk.language"} {
		if s.resource(k) == nil {
			t.Errorf("resource lacks %s", k)
		}
	}
}

func TestInstallStdoutPretty(t *testing.T) {
	clearEnv(t)
	var buf bytes.Buffer
	p := install(t, WithWriter(&buf), WithPrettyPrint())
	parentChild(p)
	_ = p.Shutdown(context.Background())
	if !strings.Contains(buf.String(), "\n\t\"Name\": \"load order\"") {
		t.Fatalf("pretty output not indented:\n%.300s", buf.String())
	}
}

// otlpReceiver is a loopback OTLP/HTTP collector that decodes the protobuf requests.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans map[string]receivedSpan // by span id
	paths []string
}

type receivedSpan struct {
	name, traceID, parentID, service string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{spans: map[string]receivedSpan{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var msg collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(req.URL.Path, &msg)
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) add(path string, msg *collectortrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paths = append(r.paths, path)
	for _, rs := range msg.ResourceSpans {
		var service string
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans[hex.EncodeToString(s.SpanId)] = receivedSpan{
					name: s.Name, traceID: hex.EncodeToString(s.TraceId),
					parentID: hex.EncodeToString(s.ParentSpanId), service: service,
				}
			}
		}
	}
}

func (r *otlpReceiver) check(t *testing.T, parent, child trace.SpanContext, service string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.spans[child.SpanID().String()]
	if !ok {
		t.Fatalf("child span not received; got %v", r.spans)
	}
	p, ok := r.spans[parent.SpanID().String()]
	if !ok {
		t.Fatalf("parent span not received; got %v", r.spans)
	}
	if c.parentID != parent.SpanID().String() || c.traceID != parent.TraceID().String() || p.parentID != "" {
		t.Errorf("parent links: child %+v parent %+v", c, p)
	}
	if c.name != "load order" || p.name != "GET /orders" || c.service != service {
		t.Errorf("received %+v %+v, want service %q", c, p, service)
	}
}

func TestInstallOTLPHTTPOption(t *testing.T) {
	clearEnv(t)
	r := newOTLPReceiver(t)
	p := install(t, WithOTLP(r.srv.URL), WithServiceName("payments"))
	parent, child := parentChild(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.check(t, parent, child, "payments")
	if r.paths[0] != "/v1/traces" {
		t.Errorf("posted to %q, want /v1/traces", r.paths[0])
	}
}

func TestInstallOTLPHTTPFromEnv(t *testing.T) {
	clearEnv(t)
	r := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.srv.URL) // no OTEL_TRACES_EXPORTER: an endpoint means otlp
	t.Setenv("OTEL_SERVICE_NAME", "frontend")
	p := install(t)
	if got := p.Exporters(); len(got) != 1 || got[0] != ExporterOTLP {
		t.Fatalf("exporters %v, want [otlp]", got)
	}
	parent, child := parentChild(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.check(t, parent, child, "frontend")
}

func TestInstallOTLPTracesEndpointUsedAsIs(t *testing.T) {
	clearEnv(t)
	r := newOTLPReceiver(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", r.srv.URL+"/custom/path")
	p := install(t)
	parent, child := parentChild(p)
	_ = p.Shutdown(context.Background())
	r.check(t, parent, child, r.spans[child.SpanID().String()].service)
	if r.paths[0] != "/custom/path" {
		t.Errorf("posted to %q, want /custom/path", r.paths[0])
	}
}

// grpcReceiver is a loopback OTLP/gRPC collector.
type grpcReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	otlp *otlpReceiver
}

func (g *grpcReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	g.otlp.add("grpc", req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestInstallOTLPGRPCFromEnv(t *testing.T) {
	clearEnv(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	recv := &grpcReceiver{otlp: &otlpReceiver{spans: map[string]receivedSpan{}}}
	collectortrace.RegisterTraceServiceServer(srv, recv)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_SERVICE_NAME", "inventory")
	p := install(t)
	parent, child := parentChild(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv.otlp.check(t, parent, child, "inventory")
}

// countingExporter records what it is given; with block set it hangs until its ctx ends.
type countingExporter struct {
	mu      sync.Mutex
	spans   int
	batches []int
	block   bool
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.block {
		<-ctx.Done()
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans += len(spans)
	e.batches = append(e.batches, len(spans))
	return nil
}

func (e *countingExporter) Shutdown(context.Context) error { return nil }

func TestInstallEnvironment(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, p *Provider, rec *tracetest.InMemoryExporter)
	}{
		{
			name: "service name and resource attributes",
			env:  map[string]string{"OTEL_SERVICE_NAME": "cart", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging,team=shop%20core"},
			check: func(t *testing.T, p *Provider, rec *tracetest.InMemoryExporter) {
				spanNow(p)
				_ = p.ForceFlush(context.Background())
				res := rec.GetSpans()[0].Resource
				want := map[string]string{"service.name": "cart", "deployment.environment": "staging", "team": "shop core"}
				for k, v := range want {
					got, ok := res.Set().Value(attribute.Key(k))
					if !ok || got.AsString() != v {
						t.Errorf("resource %s = %q, want %q", k, got.AsString(), v)
					}
				}
			},
		},
		{
			name: "always_off sampler",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "always_off"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if spanNow(p).IsSampled() {
					t.Error("span sampled under always_off")
				}
			},
		},
		{
			name: "traceidratio 0",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if spanNow(p).IsSampled() {
					t.Error("span sampled at ratio 0")
				}
			},
		},
		{
			name: "parentbased_traceidratio 1",
			env:  map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if !spanNow(p).IsSampled() {
					t.Error("span not sampled at ratio 1")
				}
			},
		},
		{
			name: "default sampler is parent based",
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				unsampledParent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
					TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true,
				}))
				_, s := p.Tracer("t").Start(unsampledParent, "child")
				s.End()
				if s.SpanContext().IsSampled() {
					t.Error("child of an unsampled remote parent was sampled")
				}
				if !spanNow(p).IsSampled() {
					t.Error("root span not sampled by default")
				}
			},
		},
		{
			name: "SDK disabled",
			env:  map[string]string{"OTEL_SDK_DISABLED": "true"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if spanNow(p).IsSampled() || len(p.Exporters()) != 0 {
					t.Errorf("disabled SDK sampled a span or kept exporters %v", p.Exporters())
				}
			},
		},
		{
			name: "propagators from env",
			env:  map[string]string{"OTEL_PROPAGATORS": "baggage"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if f := p.Propagator().Fields(); len(f) != 1 || f[0] != "baggage" {
					t.Errorf("propagator fields %v, want [baggage]", f)
				}
			},
		},
		{
			name: "propagators none",
			env:  map[string]string{"OTEL_PROPAGATORS": "none"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				if f := p.Propagator().Fields(); len(f) != 0 {
					t.Errorf("propagator fields %v, want none", f)
				}
			},
		},
		{
			name: "traces exporter none",
			env:  map[string]string{"OTEL_TRACES_EXPORTER": "none"},
			check: func(t *testing.T, p *Provider, _ *tracetest.InMemoryExporter) {
				// WithExporter below is an option and wins; ask Install again with only the env.
				p2, err := Install(context.Background(), WithoutGlobal())
				if err != nil {
					t.Fatal(err)
				}
				defer p2.Shutdown(context.Background())
				if got := p2.Exporters(); len(got) != 0 {
					t.Errorf("exporters %v, want none", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			rec := tracetest.NewInMemoryExporter()
			p := install(t, WithExporter(rec))
			tt.check(t, p, rec)
		})
	}
}

func spanNow(p *Provider) trace.SpanContext {
	_, s := p.Tracer("t").Start(context.Background(), "op")
	s.End()
	return s.SpanContext()
}

func TestInstallBatchSizeFromEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "3")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100")
	exp := &countingExporter{}
	p := install(t, WithExporter(exp))
	for range 10 {
		spanNow(p)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exp.spans != 10 {
		t.Fatalf("exported %d spans, want 10", exp.spans)
	}
	for _, n := range exp.batches {
		if n > 3 {
			t.Fatalf("batch of %d spans with OTEL_BSP_MAX_EXPORT_BATCH_SIZE=3 (%v)", n, exp.batches)
		}
	}
}

func TestInstallBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		opts []Option
		want string // part of the message
	}{
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "kafka"}, nil, `exporter "kafka": want console, otlp, ctxtrail-waterfall or none`},
		{"unknown exporter option", nil, []Option{WithExporterName("zipkin")}, `exporter "zipkin"`},
		{"unknown sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, nil, `OTEL_TRACES_SAMPLER="sometimes"`},
		{"sampler arg not a number", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, nil, "want a ratio from 0 to 1"},
		{"sampler arg above 1", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, nil, "want a ratio from 0 to 1"},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, nil, "want an http or https URL"},
		{"traces endpoint bad port", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:99999"}, nil, "is not a port number"},
		{"option endpoint bad scheme", nil, []Option{WithOTLP("ftp://collector:4318")}, "want an http or https URL"},
		{"protocol http/json", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, nil, "does not speak http/json"},
		{"protocol unknown", nil, []Option{WithOTLP("http://127.0.0.1:4318"), WithOTLPProtocol("udp")}, `"udp": want http/protobuf or grpc`},
		{"bsp queue negative", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "-1"}, nil, "OTEL_BSP_MAX_QUEUE_SIZE"},
		{"bsp delay not a number", map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "5s"}, nil, "OTEL_BSP_SCHEDULE_DELAY"},
		{"bsp batch above queue", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20"}, nil, "larger than"},
		{"unknown propagator", map[string]string{"OTEL_PROPAGATORS": "tracecontext,xray"}, nil, `OTEL_PROPAGATORS names "xray"`},
		{"malformed resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign"}, nil, "OTEL_RESOURCE_ATTRIBUTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := installErr(t, tt.env, tt.opts...); !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestInstallSetsGlobals(t *testing.T) {
	clearEnv(t)
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	defer func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) }()

	p, err := Install(context.Background(), WithoutExporter())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	if otel.GetTracerProvider() != trace.TracerProvider(p.TracerProvider()) {
		t.Error("global tracer provider not set")
	}
	fields := strings.Join(otel.GetTextMapPropagator().Fields(), ",")
	for _, want := range []string{"traceparent", "tracestate", "baggage"} {
		if !strings.Contains(fields, want) {
			t.Errorf("global propagator fields %q lack %s", fields, want)
		}
	}
}

// Every span ended before Shutdown reaches the exporter, however many goroutines end them.
func TestShutdownExportsEverySpan(t *testing.T) {
	clearEnv(t)
	exp := &countingExporter{}
	p, err := Install(context.Background(), WithoutGlobal(), WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 20, 100 // 2,000 spans: within the default queue of 2,048
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				spanNow(p)
			}
		}()
	}
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exp.spans != goroutines*each {
		t.Fatalf("ended %d spans, exporter received %d", goroutines*each, exp.spans)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// A collector that accepts the connection and never answers must not hold Shutdown past its
// deadline, nor leave goroutines behind. The collector is released only after every check, so
// neither a Shutdown that waits for it nor an export that is never aborted can pass.
func TestShutdownHonoursDeadlineWhenCollectorHangs(t *testing.T) {
	clearEnv(t)
	release := make(chan struct{})
	aborted := make(chan struct{}, 16) // one per request whose client gave up
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		// Read the body: only then does the server watch the connection and end r.Context()
		// when the client gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			select {
			case aborted <- struct{}{}:
			default:
			}
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	ignore := goleak.IgnoreCurrent()

	p, err := Install(context.Background(), WithoutGlobal(), WithOTLP(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	spanNow(p)
	if err := shutdownWithin(t, p, shutdownDeadline); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want a deadline error", err)
	}
	if hits.Load() == 0 {
		t.Fatal("the exporter never reached the collector")
	}
	// The collector still hangs: the export must have been aborted by Shutdown, not left running.
	select {
	case <-aborted:
	case <-time.After(shutdownBound):
		t.Fatalf("the export to the hanging collector was still running %v after Shutdown returned", shutdownBound)
	}
	goleak.VerifyNone(t, ignore)
}

// shutdownDeadline is the deadline the Shutdown tests give; shutdownBound is how long past it
// they allow, a margin a loaded 2-core machine holds but far below any exporter's own timeout
// (the OTLP default is 10 s) or a retry's backoff.
const shutdownDeadline, shutdownBound = 200 * time.Millisecond, 2 * time.Second

// shutdownWithin calls p.Shutdown with deadline d and fails t if it has not returned within d
// plus shutdownBound.
func shutdownWithin(t *testing.T, p *Provider, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(ctx) }()
	select {
	case err := <-done:
		t.Logf("Shutdown(%v) returned after %v", d, time.Since(start).Round(time.Millisecond))
		return err
	case <-time.After(d + shutdownBound):
		t.Fatalf("Shutdown with a %v deadline had not returned after %v", d, d+shutdownBound)
		return nil
	}
}

func TestShutdownHangingExporterReturnsAndStops(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	exp := &countingExporter{block: true}
	p, err := Install(context.Background(), WithoutGlobal(), WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	spanNow(p)
	if err := shutdownWithin(t, p, shutdownDeadline); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want a deadline error", err)
	}
}
