package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrConfig is wrapped by every configuration error Install returns, so callers can tell a bad
// setting from a failure to start.
var ErrConfig = errors.New("ctxtrail: bad configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

func getenv(key string) string { return strings.TrimSpace(os.Getenv(key)) }

// splitList splits a comma-separated OTEL_* list, lower-cased, empty items dropped.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.ToLower(strings.TrimSpace(item)); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. Unlike the SDK, which
// reports a bad value to the global error handler and carries on, it returns the error.
// remote says whether jaegerremote.Enable compiled the Jaeger remote sampler in.
func samplerFromEnv(remote bool) (sdktrace.Sampler, error) {
	name := strings.ToLower(getenv("OTEL_TRACES_SAMPLER"))
	arg := getenv("OTEL_TRACES_SAMPLER_ARG")
	ratio := func() (sdktrace.Sampler, error) {
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1), nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || v < 0 || v > 1 {
			return nil, configErr("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1, such as 0.25", arg)
		}
		return sdktrace.TraceIDRatioBased(v), nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return ratio()
	case "parentbased_traceidratio":
		s, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(s), nil
	case "jaeger_remote", "parentbased_jaeger_remote":
		return remoteSamplerFromEnv(name, arg, remote) // remotesampling.go
	default:
		return nil, configErr("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio, "+
			"parentbased_always_on, parentbased_always_off, parentbased_traceidratio, "+
			"jaeger_remote or parentbased_jaeger_remote "+
			"(for another sampler use ctxtrail.WithSampler)", name)
	}
}

// batchOptionsFromEnv reads the OTEL_BSP_* variables. The SDK reads them too but ignores a bad
// value silently; here a bad value is an error.
func batchOptionsFromEnv() ([]sdktrace.BatchSpanProcessorOption, error) {
	var opts []sdktrace.BatchSpanProcessorOption
	num := func(key string) (int, bool, error) {
		s := getenv(key)
		if s == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, false, configErr("%s=%q: want a positive whole number", key, s)
		}
		return n, true, nil
	}
	millis := func(key string) (int, bool, error) {
		n, ok, err := num(key)
		if err != nil {
			return 0, false, millisErr(key, getenv(key))
		}
		return n, ok, nil
	}
	queue, hasQueue, err := num("OTEL_BSP_MAX_QUEUE_SIZE")
	if err != nil {
		return nil, err
	}
	batch, hasBatch, err := num("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
	if err != nil {
		return nil, err
	}
	if hasQueue && hasBatch && batch > queue {
		return nil, configErr("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%d is larger than OTEL_BSP_MAX_QUEUE_SIZE=%d", batch, queue)
	}
	if hasQueue {
		opts = append(opts, sdktrace.WithMaxQueueSize(queue))
	}
	if hasBatch {
		opts = append(opts, sdktrace.WithMaxExportBatchSize(batch))
	}
	delay, hasDelay, err := millis("OTEL_BSP_SCHEDULE_DELAY")
	if err != nil {
		return nil, err
	}
	if hasDelay {
		opts = append(opts, sdktrace.WithBatchTimeout(time.Duration(delay)*time.Millisecond))
	}
	timeout, hasTimeout, err := millis("OTEL_BSP_EXPORT_TIMEOUT")
	if err != nil {
		return nil, err
	}
	if hasTimeout {
		opts = append(opts, sdktrace.WithExportTimeout(time.Duration(timeout)*time.Millisecond))
	}
	return opts, nil
}

// checkEndpoint validates an OTLP/HTTP endpoint URL so that a typo fails Install instead of
// being dropped by the exporter's own parser.
func checkEndpoint(source, raw string) (*url.URL, error) {
	return checkEndpointFor(ProtocolHTTPProtobuf, source, raw)
}

// checkEndpointFor is checkEndpoint for an exporter speaking protocol, whose example in the
// error names that protocol's default port: 4317 for gRPC, 4318 for HTTP.
func checkEndpointFor(protocol, source, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		example := "http://localhost:4318"
		if protocol == ProtocolGRPC {
			example = "http://localhost:4317 (OTLP over gRPC listens on 4317, over HTTP on 4318)"
		}
		return nil, configErr("%s=%q: want an http or https URL such as %s", source, raw, example)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, configErr("%s=%q: port %q is not a port number", source, raw, p)
		}
	}
	return u, nil
}

// propagatorByName maps an OTEL_PROPAGATORS name to its propagator: ctxtrail's own for
// tracecontext, baggage and xtrace, contrib's for b3 (the single b3 header), b3multi (the
// x-b3-* headers) and jaeger (uber-trace-id). Both b3 names read either form of B3.
func propagatorByName(name string) (propagation.TextMapPropagator, bool) {
	switch name {
	case "tracecontext":
		return propagators.TraceContext{}, true
	case "baggage":
		return propagation.Baggage{}, true
	case "xtrace":
		return propagators.XTrace{}, true
	case "b3":
		return b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)), true
	case "b3multi":
		return b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)), true
	case "jaeger":
		return jaeger.Jaeger{}, true
	}
	return nil, false
}

// defaultPropagatorNames is what Install sets when neither an option nor OTEL_PROPAGATORS says.
var defaultPropagatorNames = []string{"tracecontext", "baggage", "xtrace"}

// knownPropagatorNames lists every name OTEL_PROPAGATORS may give, for the error that refuses
// another.
var knownPropagatorNames = append(append([]string(nil), defaultPropagatorNames...), "b3", "b3multi", "jaeger")

func propagatorsFromEnv() (propagation.TextMapPropagator, error) {
	names := splitList(getenv("OTEL_PROPAGATORS"))
	if len(names) == 0 {
		// The default set, as one propagator that injects in a single pass: the same headers as
		// the composite of defaultPropagatorNames, for less than the SDK's TraceContext alone.
		return propagators.New(), nil
	}
	return propagatorsFromNames(names, "OTEL_PROPAGATORS")
}

// propagatorsFromNames composes the propagators names lists (lower case), as OTEL_PROPAGATORS
// or a configuration file (source) names them.
func propagatorsFromNames(names []string, source string) (propagation.TextMapPropagator, error) {
	var (
		ps      []propagation.TextMapPropagator
		extract []propagation.TextMapPropagator // the x-headers first: see envPropagator
		seen    = map[string]bool{}
	)
	for _, n := range names {
		if n == "none" {
			return propagation.NewCompositeTextMapPropagator(), nil
		}
		p, ok := propagatorByName(n)
		if !ok {
			return nil, configErr("%s names %q: ctxtrail knows %s and none "+
				"(for another propagator use ctxtrail.WithPropagation)", source, n, strings.Join(knownPropagatorNames, ", "))
		}
		if seen[n] {
			continue // b3,b3 would write the header twice
		}
		seen[n] = true
		ps = append(ps, p)
		if n == "xtrace" {
			extract = append([]propagation.TextMapPropagator{p}, extract...)
		} else {
			extract = append(extract, p)
		}
	}
	return envPropagator{
		inject:  propagation.NewCompositeTextMapPropagator(ps...),
		extract: propagation.NewCompositeTextMapPropagator(extract...),
	}, nil
}

// envPropagator is the composite OTEL_PROPAGATORS names. It injects in the order named and
// extracts the x-headers first, whatever their place in the list: they carry no flags and count
// as sampled, so the trace context of traceparent, b3 or uber-trace-id, extracted after them,
// wins whenever it is valid (a b3 "not sampled" stays not sampled), and the x-headers continue
// the trace only when none of those came. The request ID is extracted either way.
type envPropagator struct {
	inject, extract propagation.TextMapPropagator
}

// Inject writes every named propagator's headers, in the order named.
func (p envPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	p.inject.Inject(ctx, carrier)
}

// Extract reads the x-headers, then the other propagators' headers over them.
func (p envPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return p.extract.Extract(ctx, carrier)
}

// Fields returns the header names Inject sets.
func (p envPropagator) Fields() []string { return p.inject.Fields() }

// millisErr explains a bad OTEL_* duration: the specification gives them in milliseconds, as a
// bare whole number, so "5s" or "1.5" is refused rather than guessed at.
func millisErr(key, raw string) error {
	if d, err := time.ParseDuration(raw); err == nil && d > 0 {
		ms := d.Milliseconds()
		if ms < 1 {
			ms = 1
		}
		return configErr("%s=%q: the unit is milliseconds, as a whole number without a unit: "+
			"write %s=%d for %v", key, raw, key, ms, d)
	}
	return configErr("%s=%q: want a positive whole number of milliseconds, such as 5000 for 5s", key, raw)
}

// unknownExporterErr explains an exporter name Install does not know, pointing users of the
// exporters OpenTelemetry retired to the OTLP that replaced them.
func unknownExporterErr(source, name string) error {
	switch name {
	case "jaeger":
		return configErr("%s names exporter %q: OpenTelemetry retired its Jaeger exporter because Jaeger "+
			"accepts OTLP; use otlp, with OTEL_EXPORTER_OTLP_ENDPOINT=http://<jaeger-host>:4318", source, name)
	case "zipkin":
		return configErr("%s names exporter %q: ctxtrail has no Zipkin exporter; use otlp to an "+
			"OpenTelemetry Collector or Jaeger, which accept OTLP", source, name)
	}
	return configErr("%s names exporter %q: want console, otlp, %s or none", source, name, ExporterWaterfall)
}

// sdkDisabledFromEnv reads OTEL_SDK_DISABLED as the specification asks: only "true" (in any
// case) disables; every other value is read as false, and a value that is neither true nor
// false nor empty is reported through warn (errorRouter.warn), since it likely meant to disable.
func sdkDisabledFromEnv(warn func(error)) bool {
	v := getenv("OTEL_SDK_DISABLED")
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case v != "" && !strings.EqualFold(v, "false"):
		warn(configErr("OTEL_SDK_DISABLED=%q: want true or false; read as false, "+
			"so the SDK is enabled and spans are exported", v))
	}
	return false
}

// honouredEnv lists the OTEL_* variables Install itself reads (grep the package for getenv of
// an OTEL_ name; the OTLP protocol variables are built from the signal's name in otlpTarget).
// OTEL_EXPORTER_PROMETHEUS_HOST and _PORT choose where OTEL_METRICS_EXPORTER=prometheus serves.
var honouredEnv = []string{
	"OTEL_CONFIG_FILE", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_PROPAGATORS",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	"OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BLRP_EXPORT_TIMEOUT", "OTEL_BLRP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
	"OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_TIMEOUT",
	"OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_PORT",
	"CTXTRAIL_JAEGER_UI_URL", // spans.EnvJaegerUI, read by spans.NewMonitor: the Jaeger UI its page links trace IDs to
}

// sdkEnv lists the OTEL_* variables that the SDK and exporters Install builds read themselves
// (as of otel v1.47.0: sdk/trace's span limits, sdk/log's record limits, sdk/metric's exemplar
// filter, the OTLP exporters' connection settings), so Install must not call them ignored.
var sdkEnv = func() []string {
	out := []string{
		"OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
		"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
		"OTEL_SPAN_ATTRIBUTE_VALUE_DEPTH_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT", "OTEL_SPAN_LINK_COUNT_LIMIT",
		"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
		"OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
		"OTEL_LOGRECORD_ATTRIBUTE_VALUE_DEPTH_LIMIT",
		"OTEL_METRICS_EXEMPLAR_FILTER",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
	}
	for _, signal := range []string{"", "TRACES_", "METRICS_", "LOGS_"} {
		for _, key := range []string{"HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY", "INSECURE"} {
			out = append(out, "OTEL_EXPORTER_OTLP_"+signal+key)
		}
	}
	return out
}()

// sdkEnvPrefix is the prefix of the Go SDK's experimental switches (OTEL_GO_X_OBSERVABILITY…),
// which the SDK reads itself.
const sdkEnvPrefix = "OTEL_GO_X_"

// ErrEnvIgnored is wrapped by the warning Install reports, once per Install, for each OTEL_*
// variable in the environment that neither Install nor the OpenTelemetry SDK it builds reads:
// a setting that has no effect should not pass for one that works.
var ErrEnvIgnored = errors.New("ctxtrail: environment variable ignored")

// warnIgnoredEnv reports through warn each OTEL_* variable of environ (os.Environ's form) that
// is set, not empty, and read by nobody, in name order.
func warnIgnoredEnv(environ []string, warn func(error)) {
	known := make(map[string]bool, len(honouredEnv)+len(sdkEnv))
	for _, k := range honouredEnv {
		known[k] = true
	}
	for _, k := range sdkEnv {
		known[k] = true
	}
	var ignored []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "OTEL_") || known[k] || strings.HasPrefix(k, sdkEnvPrefix) || strings.TrimSpace(v) == "" {
			continue
		}
		ignored = append(ignored, k)
	}
	slices.Sort(ignored)
	for _, k := range slices.Compact(ignored) {
		warn(envIgnored{ignoredEnvErr(k)})
	}
}

// envIgnored is the warning for one variable nobody reads; it wraps ErrEnvIgnored.
type envIgnored struct{ error }

func (e envIgnored) Unwrap() error { return e.error }

// LogFields gives the warning as a log message and fields (otelctx.ErrorFields).
func (e envIgnored) LogFields() (string, []attribute.KeyValue) {
	return "environment variable ignored", []attribute.KeyValue{attribute.String("error", e.Error())}
}

// ignoredEnvErr explains why the variable k has no effect.
func ignoredEnvErr(k string) error {
	switch k {
	case "OTEL_EXPERIMENTAL_CONFIG_FILE":
		return fmt.Errorf("%w: %s is set, but the specification renamed it OTEL_CONFIG_FILE, which Install reads "+
			"with otelconfig.Enable(): the file is ignored and the other OTEL_* variables and Install's options are used instead", ErrEnvIgnored, k)
	case "OTEL_LOG_LEVEL":
		return fmt.Errorf("%w: %s is set, but the OpenTelemetry Go SDK has no log level variable: "+
			"it is ignored (set the SDK's logger with otel.SetLogger; WithErrorHandler routes its errors)", ErrEnvIgnored, k)
	}
	return fmt.Errorf("%w: %s is set, but neither ctxtrail's Install nor the OpenTelemetry Go SDK reads it: "+
		"it is ignored (see the otelctx package documentation for the variables Install reads, "+
		"and use Install's options for the rest)", ErrEnvIgnored, k)
}
