package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/otlplogs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/goleak"
)

var logEnv = []string{
	"OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
	"OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BLRP_EXPORT_TIMEOUT", "OTEL_BLRP_MAX_QUEUE_SIZE",
	"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
}

func clearLogEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	for _, k := range logEnv {
		t.Setenv(k, "")
	}
}

// emitLine emits one record for ctx's span through p's logger provider.
func emitLine(p *Provider, ctx context.Context, body string) {
	var r log.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(log.SeverityInfo)
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attribute.String("k", "v"))
	p.LoggerProvider().Logger("test").Emit(ctx, r)
}

func TestLogsDefaultIsNone(t *testing.T) {
	clearLogEnv(t)
	p := install(t, WithoutExporter())
	if p.LogsEnabled() || len(p.LogExporters()) != 0 {
		t.Fatalf("logs exported by default: %v", p.LogExporters())
	}
	emitLine(p, context.Background(), "nowhere")
	if s := p.LogStats(); s != (LogStats{}) {
		t.Fatalf("stats %+v with no exporter", s)
	}
}

// TestLogsDefaultNeedsLogsEndpoint: as for metrics, only OTEL_EXPORTER_OTLP_LOGS_ENDPOINT turns
// the OTLP log exporter on by default; the shared endpoint (often a traces-only Jaeger) and
// WithOTLP do not. Asking by name still sends records where spans go.
func TestLogsDefaultNeedsLogsEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want []string
	}{
		{"shared-endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, nil, nil},
		{"traces-endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, nil, nil},
		{"WithOTLP", nil, []Option{WithOTLP("http://127.0.0.1:1")}, nil},
		{"logs-endpoint", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:1/v1/logs"}, nil, []string{ExporterOTLP}},
		{"env-names-it", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_LOGS_EXPORTER": "otlp"}, nil, []string{ExporterOTLP}},
		{"option-names-it", nil, []Option{WithOTLP("http://127.0.0.1:1"), WithLogExporterName(ExporterOTLP)}, []string{ExporterOTLP}},
		{"logs-endpoint-but-none", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:1/v1/logs", "OTEL_LOGS_EXPORTER": "none"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearLogEnv(t)
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p := install(t, append([]Option{WithoutExporter(), WithoutMetrics()}, tc.opts...)...)
			if got := p.LogExporters(); fmt.Sprint(got) != fmt.Sprint(tc.want) || p.LogsEnabled() != (len(tc.want) > 0) {
				t.Fatalf("log exporters %v (enabled %v), want %v", got, p.LogsEnabled(), tc.want)
			}
		})
	}
}

// TestLogsOTLP sends 1,000 concurrent requests' records over OTLP/HTTP and OTLP/gRPC and checks
// every decoded record carries its own request's trace and span as the record's fields.
func TestLogsOTLP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) (*otlplogs.Receiver, string)
		env   map[string]string
	}{
		{"http-option", otlplogs.NewHTTP, nil},
		{"http-env", otlplogs.NewHTTP, map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "URL/v1/logs", "OTEL_LOGS_EXPORTER": "otlp"}},
		{"http-logs-endpoint-alone", otlplogs.NewHTTP, map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "URL/v1/logs"}},
		{"grpc-env", otlplogs.NewGRPC, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "URL", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_LOGS_EXPORTER": "otlp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearLogEnv(t)
			recv, url := tc.start(t)
			opts := []Option{WithServiceName("shop"), WithoutExporter(), WithLogBatch(LogBatch{QueueSize: 4096})}
			if tc.env == nil {
				// Spans go there too; the receiver ignores them. WithOTLP alone would not turn logs on.
				opts = append(opts, WithOTLP(url), WithLogExporterName(ExporterOTLP))
			}
			for k, v := range tc.env {
				t.Setenv(k, strings.Replace(v, "URL", url, 1))
			}
			p := install(t, opts...)
			if got := p.LogExporters(); len(got) != 1 || got[0] != ExporterOTLP {
				t.Fatalf("log exporters %v", got)
			}
			const n = 1000
			want := make(map[string]string, n) // body → trace/span
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					ctx, span := p.Tracer("t").Start(context.Background(), "request")
					body := fmt.Sprintf("line %d", i)
					emitLine(p, ctx, body)
					sc := span.SpanContext()
					mu.Lock()
					want[body] = sc.TraceID().String() + "/" + sc.SpanID().String()
					mu.Unlock()
					span.End()
				})
			}
			wg.Wait()
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := recv.Records()
			if len(got) != n {
				t.Fatalf("received %d records, want %d (stats %+v)", len(got), n, p.LogStats())
			}
			for _, r := range got {
				if want[r.Body] != r.TraceID+"/"+r.SpanID || r.Flags&1 != 1 || r.Service != "shop" || r.Attr("k") != "v" {
					t.Fatalf("record %q: %s/%s flags %d service %q, want %s", r.Body, r.TraceID, r.SpanID, r.Flags, r.Service, want[r.Body])
				}
			}
			if s := p.LogStats(); s.Emitted != n || s.Exported != n || s.Lost() != 0 || s.Queued != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestLogsConsole(t *testing.T) {
	clearLogEnv(t)
	t.Setenv("OTEL_LOGS_EXPORTER", "console")
	var buf syncBuffer
	p := install(t, WithoutExporter(), WithWriter(&buf))
	ctx, span := p.Tracer("t").Start(context.Background(), "s")
	emitLine(p, ctx, "to the console")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "to the console") || !strings.Contains(out, span.SpanContext().TraceID().String()) {
		t.Fatalf("console output %q", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		opts    []Option
		setting string
	}{
		{env: map[string]string{"OTEL_LOGS_EXPORTER": "bogus"}, setting: "OTEL_LOGS_EXPORTER"},
		{opts: []Option{WithLogExporterName("kafka")}, setting: "ctxtrail.WithLogExporterName"},
		{env: map[string]string{"OTEL_BLRP_MAX_QUEUE_SIZE": "many"}, setting: "OTEL_BLRP_MAX_QUEUE_SIZE"},
		{env: map[string]string{"OTEL_BLRP_SCHEDULE_DELAY": "-5"}, setting: "OTEL_BLRP_SCHEDULE_DELAY"},
		{env: map[string]string{"OTEL_BLRP_EXPORT_TIMEOUT": "1s"}, setting: "OTEL_BLRP_EXPORT_TIMEOUT"},
		{env: map[string]string{"OTEL_BLRP_MAX_QUEUE_SIZE": "10", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "20"}, setting: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"},
		{env: map[string]string{"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "localhost:4318"}, setting: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"},
		{env: map[string]string{"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json"}, setting: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"},
		{opts: []Option{WithLogBatch(LogBatch{QueueSize: 8, BatchSize: 9})}, setting: "ctxtrail.WithLogBatch"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			clearLogEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, err := Install(context.Background(), append([]Option{WithoutGlobal(), WithoutExporter()}, tc.opts...)...)
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.setting) {
				t.Fatalf("error %q: want ErrConfig naming %s", err, tc.setting)
			}
		})
	}
}

func TestLogsOptionsWinOverEnv(t *testing.T) {
	clearLogEnv(t)
	t.Setenv("OTEL_LOGS_EXPORTER", "console")
	t.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "5")
	p := install(t, WithoutExporter(), WithoutLogs())
	if p.LogsEnabled() {
		t.Fatal("WithoutLogs lost to OTEL_LOGS_EXPORTER")
	}
	exp := &logExporter{}
	p = install(t, WithoutExporter(), WithLogExporter(exp), WithLogBatch(LogBatch{QueueSize: 3, BatchSize: 3}))
	if got := p.logs.pipelines[0].limit; got != 3 {
		t.Fatalf("queue limit %d, want the option's 3", got)
	}
	p = install(t, WithoutExporter(), WithLogExporter(exp))
	if got := p.logs.pipelines[0].limit; got != 5 {
		t.Fatalf("queue limit %d, want OTEL_BLRP_MAX_QUEUE_SIZE's 5", got)
	}
}

// logExporter counts records; with block set it hangs until its ctx ends, with fail it fails.
type logExporter struct {
	mu      sync.Mutex
	records int
	block   bool
	fail    bool
	started chan struct{}
	once    sync.Once
}

func (e *logExporter) Export(ctx context.Context, rs []sdklog.Record) error {
	if e.started != nil {
		e.once.Do(func() { close(e.started) })
	}
	if e.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if e.fail {
		return errors.New("collector said no")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records += len(rs)
	return nil
}
func (e *logExporter) Shutdown(context.Context) error   { return nil }
func (e *logExporter) ForceFlush(context.Context) error { return nil }

// TestLogsQueueFullDropsAreCounted: with the exporter stuck, records past the queue size are
// refused at once, counted, and reported once per interval; the caller never waits.
func TestLogsQueueFullDropsAreCounted(t *testing.T) {
	clearLogEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	exp := &logExporter{block: true, started: make(chan struct{})}
	var warnings atomic.Int32
	var last atomic.Pointer[LogLossWarning]
	p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter(), WithLogExporter(exp),
		WithLogBatch(LogBatch{QueueSize: 4, BatchSize: 1}),
		WithLossWarnings(time.Hour, func(err error) {
			var w *LogLossWarning
			if errors.As(err, &w) {
				warnings.Add(1)
				last.Store(w)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	emitLine(p, context.Background(), "first")
	<-exp.started // the exporter holds one record
	for i := range 50 {
		emitLine(p, context.Background(), fmt.Sprint(i))
	}
	s := p.LogStats()
	if s.Emitted != 51 || s.Dropped != 51-4 || s.Queued != 4 || s.Emitted != s.Exported+s.Dropped+s.Failed+s.Queued {
		t.Fatalf("stats %+v, want 51 emitted, 47 dropped, 4 queued", s)
	}
	if warnings.Load() != 1 || !errors.Is(last.Load(), ErrLogsLost) {
		t.Fatalf("%d warnings, want 1 wrapping ErrLogsLost", warnings.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with a stuck exporter returned no error")
	}
	// Logging after Shutdown: no panic, counted as dropped.
	emitLine(p, context.Background(), "late")
	if got := p.LogStats(); got.Dropped != s.Dropped+1 || got.Emitted != s.Emitted+1 {
		t.Fatalf("after Shutdown: %+v, want one more emitted and dropped than %+v", got, s)
	}
}

func TestLogsFailedExportsAreCounted(t *testing.T) {
	clearLogEnv(t)
	recv, url := otlplogs.NewHTTP(t)
	recv.SetMode(otlplogs.Fail)
	var warned atomic.Int32
	p := install(t, WithExporterName(ExporterNone), WithOTLP(url), WithLogExporterName(ExporterOTLP), WithLossWarnings(time.Hour, func(error) { warned.Add(1) }))
	for range 3 {
		emitLine(p, context.Background(), "refused")
	}
	err := p.ForceFlush(context.Background())
	if !errors.Is(err, ErrLogsLost) {
		t.Fatalf("ForceFlush = %v, want ErrLogsLost", err)
	}
	if s := p.LogStats(); s.Failed != 3 || s.FailedExports == 0 || warned.Load() != 1 {
		t.Fatalf("stats %+v, %d warnings", s, warned.Load())
	}
}

// TestLogsShutdownHangingCollector: a log collector that never answers does not hold Shutdown
// past its deadline, spans and logs together, and leaves no goroutine behind.
func TestLogsShutdownHangingCollector(t *testing.T) {
	clearLogEnv(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the receiver's own cleanup
	recv, url := otlplogs.NewHTTP(t)
	recv.SetMode(otlplogs.Hang)
	p, err := Install(context.Background(), WithoutGlobal(), WithOTLP(url), WithLogExporterName(ExporterOTLP))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := p.Tracer("t").Start(context.Background(), "s")
	emitLine(p, ctx, "stuck")
	span.End()
	sctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(sctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown returned %v, want a deadline error", err)
		}
	case <-time.After(20 * time.Second): // a hang detector, not a timing assertion
		t.Fatal("Shutdown did not return after its deadline")
	}
	if recv.Exports() == 0 {
		t.Fatal("the log exporter never reached the collector")
	}
}

// keysExporter keeps each exported record's attribute keys, in order.
type keysExporter struct {
	mu   sync.Mutex
	keys map[string][]string // body → keys
}

func (e *keysExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		var ks []string
		r.WalkAttributes(func(kv attribute.KeyValue) bool { ks = append(ks, string(kv.Key)); return true })
		e.keys[r.Body().AsString()] = ks
	}
	return nil
}
func (e *keysExporter) Shutdown(context.Context) error   { return nil }
func (e *keysExporter) ForceFlush(context.Context) error { return nil }

// TestLogsUniqueKeysLogger: the bridges' logger for records with unique keys feeds the same
// pipeline (exported, counted) and really skips the SDK's duplicate-key check, which the
// ordinary logger keeps; after Shutdown its records are counted as dropped; with no exporter it
// is as disabled as the ordinary one.
func TestLogsUniqueKeysLogger(t *testing.T) {
	clearLogEnv(t)
	exp := &keysExporter{keys: map[string][]string{}}
	p := install(t, WithoutExporter(), WithLogExporter(exp))
	up, ok := p.LoggerProvider().(interface {
		UniqueKeysLogger(string, ...log.LoggerOption) log.Logger
	})
	if !ok {
		t.Fatal("the logger provider offers no UniqueKeysLogger")
	}
	emit := func(l log.Logger, body string) {
		var r log.Record
		r.SetBody(attribute.StringValue(body))
		r.AddAttributes(attribute.Int("k", 1), attribute.Int("j", 2), attribute.Int("k", 3))
		l.Emit(context.Background(), r)
	}
	emit(up.UniqueKeysLogger("bridge"), "unique path")
	emit(p.LoggerProvider().Logger("bridge"), "ordinary path")
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exp.mu.Lock()
	got := fmt.Sprint(exp.keys["unique path"], exp.keys["ordinary path"])
	exp.mu.Unlock()
	if got != "[k j k] [k j]" {
		t.Fatalf("exported keys %s, want the duplicate kept on the unique path only", got)
	}
	if s := p.LogStats(); s.Emitted != 2 || s.Exported != 2 {
		t.Fatalf("stats %+v, want both records counted and exported", s)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	emit(up.UniqueKeysLogger("bridge"), "late")
	if s := p.LogStats(); s.Dropped != 1 {
		t.Fatalf("after Shutdown: %+v, want the late record dropped", s)
	}

	off := install(t, WithoutExporter())
	u := off.LoggerProvider().(interface {
		UniqueKeysLogger(string, ...log.LoggerOption) log.Logger
	}).UniqueKeysLogger("bridge")
	if u.Enabled(context.Background(), log.EnabledParameters{}) {
		t.Fatal("UniqueKeysLogger enabled with no log exporter")
	}
}

// TestLogsEndpointWinsOverWithOTLP: WithOTLP is where spans go; OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
// still says where log records go.
func TestLogsEndpointWinsOverWithOTLP(t *testing.T) {
	clearLogEnv(t)
	spansRecv, spansURL := otlplogs.NewHTTP(t)
	logsRecv, logsURL := otlplogs.NewHTTP(t)
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logsURL+"/v1/logs")
	p := install(t, WithExporterName(ExporterNone), WithOTLP(spansURL), WithLogExporterName(ExporterOTLP))
	emitLine(p, context.Background(), "where")
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, m := len(logsRecv.Records()), len(spansRecv.Records()); n != 1 || m != 0 {
		t.Fatalf("logs endpoint got %d records, WithOTLP's %d; want 1 and 0", n, m)
	}
}
