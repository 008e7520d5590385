package otelconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/otelconf"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"
)

// otlp is one otlp_http or otlp_grpc exporter's settings, checked, with every value explicit so
// that the exporter reads none of the OTEL_EXPORTER_OTLP_* variables the file replaces.
type otlp struct {
	grpc     bool
	endpoint string
	headers  map[string]string
	gzip     bool
	timeout  time.Duration
	insecure bool
	tls      *tls.Config

	temporality string // metrics only
	histogram   string // metrics only
}

// otlpFields are the properties otlp_http and otlp_grpc share in the model.
type otlpFields struct {
	Endpoint    *string
	Headers     []otelconf.NameStringValuePair
	HeadersList *string
	Compression *string
	Timeout     *int
	Encoding    *otelconf.OTLPHttpEncoding
	CAFile      *string
	CertFile    *string
	KeyFile     *string
	Insecure    *bool
}

// parseOTLP checks one exporter; path is its key (…exporter.otlp_http), signal its default
// path (/v1/traces) for HTTP.
func (b *builder) parseOTLP(path string, f otlpFields, grpc bool, signal string) (*otlp, error) {
	o := &otlp{grpc: grpc, headers: map[string]string{}, timeout: 10 * time.Second}
	b.t.use(path, path+".headers_list", path+".tls") // present with empty values: the defaults
	bad := func(key, format string, args ...any) error {
		return b.errf("%s.%s: "+format, append([]any{path, key}, args...)...)
	}
	o.endpoint = "http://localhost:4318" + signal
	if grpc {
		o.endpoint = "http://localhost:4317"
	}
	if f.Endpoint != nil && *f.Endpoint != "" {
		b.t.use(path + ".endpoint")
		o.endpoint = *f.Endpoint
	}
	u, err := url.Parse(o.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		example := "http://collector:4318" + signal
		if grpc {
			example = "http://collector:4317"
		}
		return nil, bad("endpoint", "%q: want an http or https URL such as %s", o.endpoint, example)
	}
	o.insecure = u.Scheme == "http"
	if f.HeadersList != nil && *f.HeadersList != "" {
		for _, kv := range strings.Split(*f.HeadersList, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" {
				return nil, bad("headers_list", "%q: want name=value pairs separated by commas", *f.HeadersList)
			}
			if dv, err := url.PathUnescape(v); err == nil {
				v = dv
			}
			o.headers[k] = v
		}
	}
	for i, h := range f.Headers { // headers win over headers_list, as the schema says
		p := fmt.Sprintf("%s.headers[%d]", path, i)
		b.t.use(path+".headers", p, p+".name", p+".value")
		if h.Value != nil {
			o.headers[h.Name] = *h.Value
		}
	}
	if f.Compression != nil {
		b.t.use(path + ".compression")
		switch *f.Compression {
		case "gzip":
			o.gzip = true
		case "none", "":
		default:
			return nil, bad("compression", "%q: want gzip or none", *f.Compression)
		}
	}
	if f.Timeout != nil {
		b.t.use(path + ".timeout")
		if *f.Timeout <= 0 {
			return nil, bad("timeout", "%d: want a positive number of milliseconds", *f.Timeout)
		}
		o.timeout = time.Duration(*f.Timeout) * time.Millisecond
	}
	if f.Encoding != nil {
		b.t.use(path + ".encoding")
		if *f.Encoding != otelconf.OTLPHttpEncodingProtobuf {
			return nil, bad("encoding", "%q: the Go OTLP exporters speak protobuf only", *f.Encoding)
		}
	}
	if f.Insecure != nil {
		b.t.use(path + ".tls.insecure")
		o.insecure = o.insecure || *f.Insecure
	}
	if f.CAFile != nil || f.CertFile != nil || f.KeyFile != nil || u.Scheme == "https" {
		o.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if f.CAFile != nil {
			b.t.use(path + ".tls.ca_file")
			pem, err := os.ReadFile(*f.CAFile)
			if err != nil {
				return nil, bad("tls.ca_file", "%v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, bad("tls.ca_file", "%s holds no PEM certificate", *f.CAFile)
			}
			o.tls.RootCAs = pool
		}
		if (f.CertFile == nil) != (f.KeyFile == nil) {
			return nil, bad("tls", "cert_file and key_file go together")
		}
		if f.CertFile != nil {
			b.t.use(path+".tls.cert_file", path+".tls.key_file")
			cert, err := tls.LoadX509KeyPair(*f.CertFile, *f.KeyFile)
			if err != nil {
				return nil, bad("tls.cert_file", "%v", err)
			}
			o.tls.Certificates = []tls.Certificate{cert}
		}
	}
	return o, nil
}

func (o *otlp) String() string {
	proto := "http/protobuf"
	if o.grpc {
		proto = "grpc"
	}
	s := fmt.Sprintf("otlp %s %s timeout=%v", proto, o.endpoint, o.timeout)
	if o.gzip {
		s += " gzip"
	}
	if len(o.headers) > 0 {
		s += fmt.Sprintf(" headers=%d", len(o.headers))
	}
	return s
}

func (o *otlp) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if o.grpc {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(o.endpoint), otlptracegrpc.WithHeaders(o.headers),
			otlptracegrpc.WithTimeout(o.timeout)}
		if o.gzip {
			opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
		}
		if o.insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		} else {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(o.tlsConfig())))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(o.endpoint), otlptracehttp.WithHeaders(o.headers),
		otlptracehttp.WithTimeout(o.timeout), otlptracehttp.WithCompression(otlptracehttp.NoCompression)}
	if o.gzip {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	if !o.insecure {
		opts = append(opts, otlptracehttp.WithTLSClientConfig(o.tlsConfig()))
	}
	return otlptracehttp.New(ctx, opts...)
}

func (o *otlp) logExporter(ctx context.Context) (sdklog.Exporter, error) {
	if o.grpc {
		opts := []otlploggrpc.Option{otlploggrpc.WithEndpointURL(o.endpoint), otlploggrpc.WithHeaders(o.headers),
			otlploggrpc.WithTimeout(o.timeout)}
		if o.gzip {
			opts = append(opts, otlploggrpc.WithCompressor("gzip"))
		}
		if o.insecure {
			opts = append(opts, otlploggrpc.WithInsecure())
		} else {
			opts = append(opts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(o.tlsConfig())))
		}
		return otlploggrpc.New(ctx, opts...)
	}
	opts := []otlploghttp.Option{otlploghttp.WithEndpointURL(o.endpoint), otlploghttp.WithHeaders(o.headers),
		otlploghttp.WithTimeout(o.timeout), otlploghttp.WithCompression(otlploghttp.NoCompression)}
	if o.gzip {
		opts = append(opts, otlploghttp.WithCompression(otlploghttp.GzipCompression))
	}
	if !o.insecure {
		opts = append(opts, otlploghttp.WithTLSClientConfig(o.tlsConfig()))
	}
	return otlploghttp.New(ctx, opts...)
}

func (o *otlp) metricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	temporality := sdkmetric.DefaultTemporalitySelector
	switch o.temporality {
	case "delta":
		temporality = deltaTemporality
	case "low_memory":
		temporality = lowMemoryTemporality
	}
	aggregation := sdkmetric.DefaultAggregationSelector
	if o.histogram == string(otelconf.ExporterDefaultHistogramAggregationBase2ExponentialBucketHistogram) {
		aggregation = exponentialHistograms
	}
	if o.grpc {
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpointURL(o.endpoint), otlpmetricgrpc.WithHeaders(o.headers),
			otlpmetricgrpc.WithTimeout(o.timeout), otlpmetricgrpc.WithTemporalitySelector(temporality),
			otlpmetricgrpc.WithAggregationSelector(aggregation)}
		if o.gzip {
			opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
		}
		if o.insecure {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		} else {
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(o.tlsConfig())))
		}
		return otlpmetricgrpc.New(ctx, opts...)
	}
	opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpointURL(o.endpoint), otlpmetrichttp.WithHeaders(o.headers),
		otlpmetrichttp.WithTimeout(o.timeout), otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
		otlpmetrichttp.WithTemporalitySelector(temporality), otlpmetrichttp.WithAggregationSelector(aggregation)}
	if o.gzip {
		opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	}
	if !o.insecure {
		opts = append(opts, otlpmetrichttp.WithTLSClientConfig(o.tlsConfig()))
	}
	return otlpmetrichttp.New(ctx, opts...)
}

func (o *otlp) tlsConfig() *tls.Config {
	if o.tls == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o.tls
}

// deltaTemporality is the specification's delta preference: delta for counters and
// histograms, cumulative for up-down counters.
func deltaTemporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindObservableUpDownCounter:
		return metricdata.CumulativeTemporality
	}
	return metricdata.DeltaTemporality
}

// lowMemoryTemporality is delta for synchronous counters and histograms only.
func lowMemoryTemporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

func exponentialHistograms(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if k == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}
	return sdkmetric.DefaultAggregationSelector(k)
}
