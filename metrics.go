package ctxtrail

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// ExporterPrometheus is the metrics exporter name (OTEL_METRICS_EXPORTER=prometheus) that serves
// the metrics for a Prometheus server to scrape: at /metrics on OTEL_EXPORTER_PROMETHEUS_HOST
// and _PORT (localhost:9464 by default, see WithPrometheusAddr), and through
// Provider.MetricsHandler on the program's own server.
const ExporterPrometheus = "prometheus"

// DefaultMetricExportInterval is how often the console and OTLP metric exporters send, unless
// OTEL_METRIC_EXPORT_INTERVAL or WithMetricExportInterval says otherwise.
const DefaultMetricExportInterval = time.Minute

// metricsConfig is the part of config the metrics pipeline reads.
type metricsConfig struct {
	exporterNames []string                     // WithMetricsExporterName / WithoutMetrics
	readers       []labelled[sdkmetric.Reader] // WithMetricReader ("custom") and a file's, by name
	interval      time.Duration
	promAddr      string // WithPrometheusAddr; "" reads OTEL_EXPORTER_PROMETHEUS_HOST and _PORT
	promNoServer  bool   // WithoutPrometheusServer
}

// WithMetricsExporterName chooses the metric exporters by name, as OTEL_METRICS_EXPORTER would,
// and wins over it: ExporterOTLP, ExporterPrometheus, ExporterConsole or ExporterNone. The OTLP
// metric exporter sends to the endpoint of WithOTLP when one is given, otherwise to the
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT of the environment.
func WithMetricsExporterName(names ...string) Option {
	return optionFunc(func(c config) config {
		c.metrics.exporterNames = append(append([]string(nil), c.metrics.exporterNames...), names...)
		return c
	})
}

// WithoutMetrics exports no metrics. The MeterProvider is still installed, so instruments work
// and readers given with WithMetricReader still see them.
func WithoutMetrics() Option { return WithMetricsExporterName(ExporterNone) }

// WithMetricReader registers r (a sdkmetric.ManualReader, a PeriodicReader around an exporter of
// your own) with the MeterProvider. Like WithExporter for spans, it makes Install ignore
// OTEL_METRICS_EXPORTER unless WithMetricsExporterName is given too.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c config) config {
		c.metrics.readers = appendLabelled(c.metrics.readers, exporterCustom, r)
		return c
	})
}

// WithMetricExportInterval sets how often the OTLP and console metric exporters send; it wins
// over OTEL_METRIC_EXPORT_INTERVAL.
func WithMetricExportInterval(d time.Duration) Option {
	return optionFunc(func(c config) config { c.metrics.interval = d; return c })
}

// metricsPipeline is what Install builds for the metrics signal.
type metricsPipeline struct {
	mp     *sdkmetric.MeterProvider
	off    bool // no reader: nothing recorded is ever seen, so Meter hands out no-op meters
	names  []string
	prom   http.Handler
	server *promServer // the scrape endpoint ctxtrail serves itself (promserve.go), or nil
}

// metricExporterNames decides which metric exporters run: options, then OTEL_METRICS_EXPORTER,
// then OTLP when OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, and otherwise none. Unlike traces
// (and unlike the specification's default of otlp) an OTEL_EXPORTER_OTLP_ENDPOINT alone does not
// turn metrics on: the collector most set-ups point it at, Jaeger, takes traces and refuses
// metrics, and a metrics export failing every minute is noise nobody asked for.
func metricExporterNames(cfg config) (names []string, source string) {
	switch {
	case len(cfg.metrics.exporterNames) > 0:
		return cfg.metrics.exporterNames, "ctxtrail.WithMetricsExporterName"
	case len(cfg.metrics.readers) > 0:
		return nil, ""
	}
	if names := splitList(getenv("OTEL_METRICS_EXPORTER")); len(names) > 0 {
		return names, "OTEL_METRICS_EXPORTER"
	}
	if getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "" {
		return []string{ExporterOTLP}, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	}
	return nil, "default"
}

// durationEnv reads a millisecond duration from key; zero when unset.
func durationEnv(key string) (time.Duration, error) {
	s := getenv(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, configErr("%s=%q: want a positive whole number of milliseconds, such as 60000", key, s)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// buildMetrics makes the MeterProvider and its readers. Every setting is checked before anything
// starts, so an error leaves nothing running.
func buildMetrics(ctx context.Context, cfg config, res *resource.Resource, disabled bool) (*metricsPipeline, error) {
	interval := cfg.metrics.interval
	if interval < 0 {
		return nil, configErr("ctxtrail.WithMetricExportInterval(%v): want a positive duration", interval)
	}
	if interval == 0 && !cfg.fromFile() {
		d, err := durationEnv("OTEL_METRIC_EXPORT_INTERVAL")
		if err != nil {
			return nil, err
		}
		interval = d
	}
	if interval == 0 {
		interval = DefaultMetricExportInterval
	}
	var timeout time.Duration
	if !cfg.fromFile() {
		var err error
		if timeout, err = durationEnv("OTEL_METRIC_EXPORT_TIMEOUT"); err != nil {
			return nil, err
		}
	}
	periodic := []sdkmetric.PeriodicReaderOption{sdkmetric.WithInterval(interval)}
	if timeout > 0 {
		periodic = append(periodic, sdkmetric.WithTimeout(timeout))
	}

	names, source := metricExporterNames(cfg)
	pl := &metricsPipeline{}
	var readers []sdkmetric.Reader
	stop := func() {
		if pl.server != nil {
			_ = pl.server.shutdown(ctx)
		}
		for _, r := range readers {
			_ = r.Shutdown(ctx)
		}
	}
	for _, r := range cfg.metrics.readers {
		if r.v != nil {
			readers = append(readers, r.v)
			pl.names = append(pl.names, r.name)
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "logging" || name == "stdout" {
			name = ExporterConsole
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		var (
			r   sdkmetric.Reader
			err error
		)
		switch name {
		case ExporterNone:
			continue
		case ExporterConsole:
			var e sdkmetric.Exporter
			if e, err = consoleMetricExporter(cfg); err == nil {
				r = sdkmetric.NewPeriodicReader(e, periodic...)
			}
		case ExporterOTLP:
			var e sdkmetric.Exporter
			if e, err = otlpMetricExporter(ctx, cfg); err == nil {
				r = sdkmetric.NewPeriodicReader(e, periodic...)
			}
		case ExporterPrometheus:
			reg := prometheus.NewRegistry()
			var e *otelprom.Exporter
			if e, err = otelprom.New(otelprom.WithRegisterer(reg)); err == nil {
				r = e
				pl.prom = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
					ErrorHandling: promhttp.ContinueOnError, // a bad metric costs itself, not the scrape
					Timeout:       10 * time.Second,
					// Exemplars (a bucket's trace_id and span_id) exist only in the OpenMetrics
					// format, which Prometheus asks for first; others still get the text format.
					EnableOpenMetrics: true,
				})
				switch {
				case cfg.metrics.promNoServer:
				case disabled: // OTEL_SDK_DISABLED: the address is checked, no port is opened
					_, _, err = prometheusAddr(cfg.metrics.promAddr)
				default:
					pl.server, err = servePrometheus(cfg.metrics.promAddr, pl.prom) // promserve.go
				}
				if err != nil {
					_ = e.Shutdown(ctx)
				}
			}
		default:
			err = configErr("%s names metrics exporter %q: want otlp, prometheus, console or none", source, name)
		}
		if err != nil {
			stop()
			return nil, err
		}
		readers = append(readers, r)
		pl.names = append(pl.names, name)
	}
	if disabled { // OTEL_SDK_DISABLED: settings checked above, nothing recorded or exported
		stop()
		readers, pl.names, pl.prom, pl.server = nil, nil, nil, nil
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if cfg.fromFile() {
		mpOpts = append(mpOpts, cfg.file.loaded.MeterProvider...) // the file's exemplar filter
	}
	for _, r := range readers {
		mpOpts = append(mpOpts, sdkmetric.WithReader(r))
	}
	pl.mp = sdkmetric.NewMeterProvider(mpOpts...)
	pl.off = len(readers) == 0
	return pl, nil
}

func consoleMetricExporter(cfg config) (sdkmetric.Exporter, error) {
	w := cfg.writer
	if w == nil {
		w = os.Stdout
	}
	opts := []stdoutmetric.Option{stdoutmetric.WithWriter(w)}
	if cfg.pretty {
		opts = append(opts, stdoutmetric.WithPrettyPrint())
	}
	return stdoutmetric.New(opts...)
}

// otlpMetricExporter builds the OTLP metric exporter. The endpoint is WithOTLP's when given
// (with /v1/metrics added to a URL without a path), else the exporter reads
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT itself, after we check them.
func otlpMetricExporter(ctx context.Context, cfg config) (sdkmetric.Exporter, error) {
	protocol, endpoint, err := otlpTarget(cfg, "METRICS", false)
	if err != nil {
		return nil, err
	}
	if protocol == ProtocolGRPC {
		var opts []otlpmetricgrpc.Option
		if endpoint != "" {
			opts = append(opts, otlpmetricgrpc.WithEndpointURL(endpoint))
		}
		return otlpmetricgrpc.New(ctx, opts...)
	}
	var opts []otlpmetrichttp.Option
	if endpoint != "" {
		opts = append(opts, otlpmetrichttp.WithEndpointURL(withSignalPath(endpoint, "/v1/metrics")))
	}
	return otlpmetrichttp.New(ctx, opts...)
}

// MeterProvider returns the SDK meter provider Install built. It is never nil: with no metrics
// exporter it records into nothing (or into the readers of WithMetricReader).
func (p *Provider) MeterProvider() *sdkmetric.MeterProvider { return p.metrics.mp }

// Meter returns a meter of this provider: a no-op meter when the provider has no metric reader
// (metrics off, the default), so that instrumentation given the Provider skips recording.
func (p *Provider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	if p.metrics.off {
		return noop.Meter{}
	}
	return p.metrics.mp.Meter(name, opts...)
}

// MetricExporters returns the names of the metric exporters in use ("otlp", "prometheus",
// "console", "custom" for WithMetricReader's; a configuration file's periodic readers are named
// for their exporter).
func (p *Provider) MetricExporters() []string { return append([]string(nil), p.metrics.names...) }

// MetricsHandler returns the Prometheus scrape endpoint when the prometheus metrics exporter is
// on, for a program that serves the metrics on its own server, with its port, TLS and access
// control: mux.Handle("GET "+httpctx.MetricsPath, p.MetricsHandler()), and usually
// WithoutPrometheusServer so that no second port is opened. It answers in the OpenMetrics format
// (with exemplars) when the scraper asks for it, as Prometheus does, else in the text format.
// NewHandler leaves requests for MetricsPath untraced. Without the prometheus exporter the
// handler answers 404 and says why.
func (p *Provider) MetricsHandler() http.Handler {
	if p.metrics.prom != nil {
		return p.metrics.prom
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "ctxtrail: the prometheus metrics exporter is off (set OTEL_METRICS_EXPORTER=prometheus)", http.StatusNotFound)
	})
}

// flush collects and exports the metrics now.
func (m *metricsPipeline) flush(ctx context.Context) error {
	return m.mp.ForceFlush(ctx)
}

// shutdown stops the scrape endpoint, exports the last metrics and stops the readers, by ctx's
// deadline.
func (m *metricsPipeline) shutdown(ctx context.Context) error {
	var serverErr error
	if m.server != nil {
		serverErr = m.server.shutdown(ctx)
	}
	err := m.mp.Shutdown(ctx)
	if errors.Is(err, sdkmetric.ErrReaderShutdown) {
		err = nil
	}
	return errors.Join(serverErr, err)
}
