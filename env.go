package ctxtrail

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
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
func samplerFromEnv() (sdktrace.Sampler, error) {
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
		return remoteSamplerFromEnv(name, arg) // remotesampler.go
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

// propagatorNames maps OTEL_PROPAGATORS names to ctxtrail's built-in propagators.
func propagatorByName(name string) (propagation.TextMapPropagator, bool) {
	switch name {
	case "tracecontext":
		return otelctx.TraceContext{}, true
	case "baggage":
		return propagation.Baggage{}, true
	case "xtrace":
		return otelctx.XTrace{}, true
	}
	return nil, false
}

// defaultPropagatorNames is what Install sets when neither an option nor OTEL_PROPAGATORS says.
var defaultPropagatorNames = []string{"tracecontext", "baggage", "xtrace"}

func propagatorsFromEnv() (propagation.TextMapPropagator, error) {
	names := splitList(getenv("OTEL_PROPAGATORS"))
	if len(names) == 0 {
		// The default set, as one propagator that injects in a single pass: the same headers as
		// the composite of defaultPropagatorNames, for less than the SDK's TraceContext alone.
		return otelctx.NewPropagator(), nil
	}
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		if n == "none" {
			return propagation.NewCompositeTextMapPropagator(), nil
		}
		p, ok := propagatorByName(n)
		if !ok {
			return nil, configErr("OTEL_PROPAGATORS names %q: ctxtrail knows %s and none "+
				"(for another propagator use ctxtrail.WithPropagators)", n, strings.Join(defaultPropagatorNames, ", "))
		}
		ps = append(ps, p)
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

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
// false nor empty is reported through otel.Handle, since it likely meant to disable.
func sdkDisabledFromEnv() bool {
	v := getenv("OTEL_SDK_DISABLED")
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case v != "" && !strings.EqualFold(v, "false"):
		otel.Handle(configErr("OTEL_SDK_DISABLED=%q: want true or false; read as false, "+
			"so the SDK is enabled and spans are exported", v))
	}
	return false
}
