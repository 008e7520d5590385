package otelconfig_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/otlplogs"
	"github.com/ctxtrail/ctxtrail/otelconfig"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// parse parses a file made of lines, failing the test on an error.
func parse(t *testing.T, lines ...string) *otelconfig.Config {
	t.Helper()
	conf, err := otelconfig.Parse("test.yaml", []byte(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// parseErr parses a file that must be refused with an ErrConfig error saying every want.
func parseErr(t *testing.T, want []string, lines ...string) {
	t.Helper()
	_, err := otelconfig.Parse("test.yaml", []byte(strings.Join(lines, "\n")+"\n"))
	if !errors.Is(err, ctxtrail.ErrConfig) {
		t.Fatalf("Parse = %v, want an error wrapping ctxtrail.ErrConfig", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// Nothing in a file is silently ignored: a key of no schema, and a key of the schema ctxtrail
// does not apply, are errors naming the key and its line.
func TestUnappliedKeysAreErrors(t *testing.T) {
	blankOTELEnv(t)
	parseErr(t, []string{"line 5", "tracer_provider.processors[0].batch.shedule_delay", "a typo"},
		`file_format: "1.1"`,
		`tracer_provider:`,
		`  processors:`,
		`    - batch:`,
		`        shedule_delay: 100`,
		`        exporter: {console: }`)
	parseErr(t, []string{"line 3", "meter_provider.views", "ctxtrail does not apply it"},
		`file_format: "1.1"`,
		`meter_provider:`,
		`  views:`,
		`    - selector: {instrument_name: x}`,
		`      stream: {aggregation: {drop: }}`,
		`  readers: []`)
	parseErr(t, []string{"line 2", "resource.schema_url"},
		`file_format: "1.1"`,
		`resource: {schema_url: "https://opentelemetry.io/schemas/1.26.0"}`)
	parseErr(t, []string{"sampler", "probability/development", "ctxtrail builds"},
		`file_format: "1.1"`,
		`tracer_provider:`,
		`  processors: []`,
		`  sampler: {probability/development: {ratio: 0.5}}`)
	parseErr(t, []string{"propagator", "ottrace", "ctxtrail composes"},
		`file_format: "1.1"`,
		`propagator: {composite: [{ottrace: }]}`)
	parseErr(t, []string{"file_format", `"2.0"`}, `file_format: "2.0"`)
	parseErr(t, []string{"same batch settings"},
		`file_format: "1.1"`,
		`tracer_provider:`,
		`  processors:`,
		`    - batch: {schedule_delay: 100, exporter: {console: }}`,
		`    - batch: {schedule_delay: 200, exporter: {otlp_http: {endpoint: "http://127.0.0.1:4318/v1/traces"}}}`)
	parseErr(t, []string{"otlp_http.endpoint", "want an http or https URL"},
		`file_format: "1.1"`,
		`tracer_provider:`,
		`  processors: [{batch: {exporter: {otlp_http: {endpoint: "collector:4318"}}}}]`)
	// Check's error says which kind of failure it is: keys refused, or a bad value.
	if err := otelconfig.Check(io.Discard, filepath.Join("testdata", "unknown-key.yaml")); !errors.Is(err, otelconfig.ErrNotApplied) ||
		!errors.Is(err, ctxtrail.ErrConfig) {
		t.Errorf("Check(unknown-key.yaml) = %v, want an error wrapping ErrNotApplied and ctxtrail.ErrConfig", err)
	}
	if _, err := otelconfig.Parse("test.yaml", []byte("file_format: \"1.1\"\ntracer_provider: {processors: [{batch: {exporter: {otlp_http: {endpoint: \"collector:4318\"}}}}]}\n")); errors.Is(err, otelconfig.ErrNotApplied) {
		t.Errorf("Parse(bad endpoint) = %v, wraps ErrNotApplied: no key was refused", err)
	}
}

// A /development feature ctxtrail does not apply, and another language's instrumentation, are
// tolerated as the specification asks: warnings with their lines, which Install reports through
// its error handler.
func TestToleratedKeysAreWarnings(t *testing.T) {
	blankOTELEnv(t)
	conf := parse(t,
		`file_format: "1.1"`,
		`tracer_provider:`,
		`  tracer_configurator/development: {default_config: {disabled: false}}`,
		`  processors: []`,
		`instrumentation/development:`,
		`  java: {spring_batch: {enabled: true}}`,
		`  go: {otelhttp: {x: 1}}`)
	var got []string
	for _, k := range conf.NotApplied() {
		got = append(got, fmt.Sprintf("%d %s", k.Line, k.Path))
	}
	want := []string{"3 tracer_provider.tracer_configurator/development", "6 instrumentation/development.java",
		"7 instrumentation/development.go.otelhttp"}
	if !slices.Equal(got, want) {
		t.Fatalf("not applied %q, want %q", got, want)
	}
	var warned []error
	install(t, conf.Option(), ctxtrail.WithErrorHandler(func(err error) { warned = append(warned, err) }))
	var lines []string
	for _, w := range warned {
		lines = append(lines, w.Error())
	}
	for _, w := range want {
		line, path, _ := strings.Cut(w, " ")
		if !slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, "line "+line+": warning: "+path) }) {
			t.Errorf("Install did not warn about %s at line %s: %q", path, line, lines)
		}
	}
}

// The specification's substitution: ${VAR}, ${env:VAR}, ${VAR:-default}, $$ for a literal $,
// in values only; a plain value takes the type of its new text, a quoted one stays a string.
func TestSubstitution(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("TEAM", "payments")
	t.Setenv("SHARDS", "4")
	t.Setenv("EMPTY", "")
	conf := parse(t,
		`file_format: "1.1"`,
		`resource:`,
		`  attributes:`,
		`    - name: team`,
		`      value: ${TEAM}`,
		`    - name: region`,
		`      value: ${env:REGION:-eu-west-1}`,
		`    - name: shards`,
		`      value: ${SHARDS}`,
		`      type: int`,
		`    - name: price`,
		`      value: "$$5 ${EMPTY:-each}"`,
		`    - name: quoted`,
		`      value: "${SHARDS}"`,
		`    - name: ${TEAM}`, // a value, substituted; keys never are
		`      value: key`,
		`tracer_provider: {processors: []}`,
		`# a comment with ${NOT A REFERENCE} is left alone`)
	rec := tracetest.NewInMemoryExporter()
	p := install(t, conf.Option(), ctxtrail.WithExporter(rec))
	_, span := p.Tracer("t").Start(context.Background(), "op")
	span.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	res := spans[0].Resource.Set()
	for k, want := range map[attribute.Key]attribute.Value{
		"team": attribute.StringValue("payments"), "region": attribute.StringValue("eu-west-1"),
		"shards": attribute.IntValue(4), "price": attribute.StringValue("$5 each"), "quoted": attribute.StringValue("4"),
		"payments": attribute.StringValue("key"),
	} {
		if got, _ := res.Value(k); got != want {
			t.Errorf("resource %s = %v (%v), want %v (%v)", k, got.String(), got.Type(), want.String(), want.Type())
		}
	}
	parseErr(t, []string{"line 2", "${1BAD}", "is not a substitution"}, `file_format: "1.1"`, `resource: {attributes_list: "a=${1BAD}"}`)
}

// With a file, Install ignores the OTEL_* variables it replaces, and Bytes wins over
// OTEL_CONFIG_FILE (saying so).
func TestBytesAndFileWinOverEnv(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("OTEL_CONFIG_FILE", "testdata/service.yaml")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	var warned []string
	p := install(t, otelconfig.Bytes("inline", []byte("file_format: \"1.1\"\ntracer_provider:\n  processors: [{simple: {exporter: {console: }}}]\n")),
		ctxtrail.WithErrorHandler(func(err error) { warned = append(warned, err.Error()) }), ctxtrail.WithWriter(new(strings.Builder)))
	_, span := p.Tracer("t").Start(context.Background(), "op")
	if !span.SpanContext().IsSampled() {
		t.Error("OTEL_TRACES_SAMPLER=always_off applied over the file's default sampler")
	}
	span.End()
	joined := strings.Join(warned, "\n")
	for _, w := range []string{`OTEL_CONFIG_FILE="testdata/service.yaml" is not read`, "OTEL_TRACES_SAMPLER is ignored"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q do not say %q", joined, w)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sdk.yaml")
	if err := os.WriteFile(path, []byte("file_format: \"1.1\"\nmeter_provider: {readers: [{pull: {exporter: {prometheus/development: {host: 127.0.0.1, port: 0}}}}]}\n"), 0o600); err == nil {
		_, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), otelconfig.File(path))
		if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "port=0") {
			t.Errorf("Install with port 0 = %v, want ErrConfig naming port=0", err)
		}
	}
}

// Enable reads OTEL_CONFIG_FILE inside Install; a file whose ctxtrail node configures the
// service's handlers is refused there, naming FromEnv, since Install could apply it to nothing.
func TestEnable(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("OTEL_CONFIG_FILE", "testdata/spec/otel-getting-started.yaml")
	p := install(t, otelconfig.Enable())
	if got := p.MetricExporters(); len(got) == 0 {
		t.Error("no metric reader from the file's meter_provider")
	}
	t.Setenv("OTEL_CONFIG_FILE", "testdata/service.yaml")
	_, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), otelconfig.Enable())
	if !errors.Is(err, ctxtrail.ErrConfig) || !strings.Contains(err.Error(), "otelconfig.FromEnv") {
		t.Errorf("Enable with handler settings = %v, want ErrConfig naming otelconfig.FromEnv", err)
	}
	t.Setenv("OTEL_CONFIG_FILE", "testdata/missing.yaml")
	if _, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), otelconfig.Enable()); !errors.Is(err, ctxtrail.ErrConfig) {
		t.Errorf("Enable with a missing file = %v, want ErrConfig", err)
	}
	t.Setenv("OTEL_CONFIG_FILE", "")
	if conf, err := otelconfig.FromEnv(); conf != nil || err != nil {
		t.Errorf("FromEnv without OTEL_CONFIG_FILE = %v, %v; want nil, nil", conf, err)
	}
}

// ctxtrail's node, section by section.
func TestNodeTrustBoundary(t *testing.T) {
	blankOTELEnv(t)
	node := func(body string) *otelconfig.Config {
		return parse(t, `file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`, body)
	}
	conf := node(`      trust_boundary: {allowed_baggage: [tenant.id], trusted_request_id: true}`)
	if n := len(conf.HTTPHandlerOptions()); n != 2 {
		t.Errorf("%d HTTP options, want the boundary and the trusted request ID", n)
	}
	if n := len(conf.GRPCServerOptions()); n != 2 {
		t.Errorf("%d gRPC options, want the boundary and the trusted request ID", n)
	}
	// Through a real handler: a caller's x-request-id is kept, as trusted_request_id asks.
	p := install(t, conf.Option(), ctxtrail.WithoutExporter())
	h := httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), append(conf.HTTPHandlerOptions(), httpctx.WithProvider(p))...)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("x-request-id", "req-from-the-gateway")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	if id := rr.Header().Get("x-request-id"); id != "req-from-the-gateway" {
		t.Errorf("x-request-id %q, want the trusted caller's", id)
	}
	if off := node(`      trust_boundary: {enabled: false}`); len(off.HTTPHandlerOptions()) != 0 {
		t.Error("enabled: false still sets the boundary")
	}
	parseErr(t, []string{"line 5", "ctxtrail.trust_boundary.allowed_bagage", "allowed_baggage, enabled, trusted_request_id"},
		`file_format: "1.1"`, `instrumentation/development:`, `  go:`, `    ctxtrail:`,
		`      trust_boundary: {allowed_bagage: [x]}`)
}

func TestNodeMonitor(t *testing.T) {
	blankOTELEnv(t)
	conf := parse(t, `file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: {monitor: {path: /ops/spans, max_tracked: 10}}}}`,
		`tracer_provider: {processors: []}`)
	if conf.Monitor() == nil || conf.MonitorPath() != "/ops/spans" {
		t.Fatalf("monitor %v at %q, want one at /ops/spans", conf.Monitor(), conf.MonitorPath())
	}
	p := install(t, conf.Option())
	_, span := p.Tracer("t").Start(context.Background(), "checkout")
	rr := httptest.NewRecorder()
	conf.Monitor().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/ops/spans?format=json", nil))
	span.End()
	if !strings.Contains(rr.Body.String(), "checkout") {
		t.Errorf("the monitor Install was given does not show the active span: %s", rr.Body.String())
	}
	if off := parse(t, `file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: {monitor: {enabled: false}}}}`); off.Monitor() != nil || off.MonitorPath() != "" {
		t.Error("enabled: false still makes a monitor")
	}
	parseErr(t, []string{"monitor.max_tracked=-1"}, `file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: {monitor: {max_tracked: -1}}}}`)
	parseErr(t, []string{"monitor.path", "want a path"}, `file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: {monitor: {path: ops}}}}`)
}

func TestNodeBaggage(t *testing.T) {
	blankOTELEnv(t)
	conf := parse(t, `file_format: "1.1"`, `propagator: {composite: [{tracecontext: }, {baggage: }]}`, `tracer_provider: {processors: []}`,
		`instrumentation/development: {go: {ctxtrail: {baggage: {span_attributes: [tenant.id]}}}}`)
	rec := tracetest.NewInMemoryExporter()
	p := install(t, conf.Option(), ctxtrail.WithExporter(rec))
	h := httpctx.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httpctx.WithProvider(p))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("baggage", "tenant.id=acme,other=x")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	var keys []string
	for _, kv := range spans[0].Attributes {
		keys = append(keys, string(kv.Key))
	}
	if !slices.Contains(keys, "tenant.id") || slices.Contains(keys, "other") {
		t.Errorf("span attributes %v: want tenant.id copied from baggage and nothing else from it", keys)
	}
}

func TestNodeWaterfall(t *testing.T) {
	blankOTELEnv(t)
	conf := parse(t, `file_format: "1.1"`,
		`tracer_provider: {processors: [{simple: {exporter: {ctxtrail_waterfall: }}}]}`,
		`instrumentation/development: {go: {ctxtrail: {waterfall: {bar_width: 20, max_traces: 4}}}}`)
	p := install(t, conf.Option())
	if p.Waterfall() == nil || !slices.Contains(p.Exporters(), ctxtrail.ExporterWaterfall) {
		t.Errorf("exporters %v, waterfall %v: want the file's waterfall", p.Exporters(), p.Waterfall())
	}
	parseErr(t, []string{"waterfall.bar_width=-2"}, `file_format: "1.1"`, `instrumentation/development: {go: {ctxtrail: {waterfall: {bar_width: -2}}}}`)
}

func TestNodeHTTPAndGRPC(t *testing.T) {
	blankOTELEnv(t)
	conf := parse(t, `file_format: "1.1"`,
		`instrumentation/development: {go: {ctxtrail: {http: {body_size_metrics: true}, grpc: {message_events: true, xtrace_headers: true}}}}`)
	if n := len(conf.HTTPHandlerOptions()); n != 1 {
		t.Errorf("%d HTTP options, want WithBodySizeMetrics", n)
	}
	if n := len(conf.GRPCServerOptions()); n != 2 {
		t.Errorf("%d gRPC options, want WithMessageEvents and WithXTraceHeaders", n)
	}
	var nilConf *otelconfig.Config
	if nilConf.HTTPHandlerOptions() != nil || nilConf.GRPCServerOptions() != nil || nilConf.Monitor() != nil {
		t.Error("a nil Config returns options")
	}
}

// The file's span limits apply, over attribute_limits; without them the specification's
// defaults apply, not OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, which the SDK would otherwise read.
func TestSpanLimits(t *testing.T) {
	blankOTELEnv(t)
	t.Setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "1")
	kept := func(lines ...string) int {
		t.Helper()
		rec := tracetest.NewInMemoryExporter()
		p := install(t, parse(t, lines...).Option(), ctxtrail.WithExporter(rec))
		_, span := p.Tracer("t").Start(context.Background(), "op")
		span.SetAttributes(attribute.Int("a", 1), attribute.Int("b", 2), attribute.Int("c", 3))
		span.End()
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return len(rec.GetSpans()[0].Attributes)
	}
	if n := kept(`file_format: "1.1"`, `attribute_limits: {attribute_count_limit: 5}`,
		`tracer_provider: {processors: [], limits: {attribute_count_limit: 2}}`); n != 2 {
		t.Errorf("kept %d attributes, want the file's tracer_provider limit of 2", n)
	}
	if n := kept(`file_format: "1.1"`, `attribute_limits: {attribute_count_limit: 1}`, `tracer_provider: {processors: []}`); n != 1 {
		t.Errorf("kept %d attributes, want attribute_limits' 1", n)
	}
	if n := kept(`file_format: "1.1"`, `tracer_provider: {processors: []}`); n != 3 {
		t.Errorf("kept %d attributes, want 3: OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=1 is replaced by the file", n)
	}
}

// The file's log record limits apply, over attribute_limits, which applies to log records
// with no tracer_provider in the file as well; without them the specification's defaults.
func TestLogLimits(t *testing.T) {
	blankOTELEnv(t)
	kept := func(lines ...string) int {
		t.Helper()
		rec := &otlplogs.MemoryExporter{}
		p := install(t, parse(t, lines...).Option(), ctxtrail.WithLogExporter(rec))
		var r log.Record
		r.AddAttributes(attribute.Int("a", 1), attribute.Int("b", 2), attribute.Int("c", 3))
		p.LoggerProvider().Logger("t").Emit(context.Background(), r)
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		recs := rec.Records()
		if len(recs) != 1 {
			t.Fatalf("exported %d log records, want 1", len(recs))
		}
		return recs[0].AttributesLen()
	}
	if n := kept(`file_format: "1.1"`, `attribute_limits: {attribute_count_limit: 5}`,
		`logger_provider: {processors: [], limits: {attribute_count_limit: 2}}`); n != 2 {
		t.Errorf("kept %d attributes, want the file's logger_provider limit of 2", n)
	}
	if n := kept(`file_format: "1.1"`, `attribute_limits: {attribute_count_limit: 1}`, `logger_provider: {processors: []}`); n != 1 {
		t.Errorf("kept %d attributes, want attribute_limits' 1", n)
	}
	if n := kept(`file_format: "1.1"`, `logger_provider: {processors: []}`); n != 3 {
		t.Errorf("kept %d attributes, want 3", n)
	}
}
