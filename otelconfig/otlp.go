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
	u, ok := httpURL(o.endpoint)
	if !ok {
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

// httpURL parses raw as an http or https URL with a host.
func httpURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	return u, err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
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

// grpcOptions are one otlp*grpc package's options, so that the three signals' exporters are
// built from o by one function each for gRPC and HTTP.
type grpcOptions[O any] struct {
	endpoint func(string) O
	headers  func(map[string]string) O
	timeout  func(time.Duration) O
	gzip     O
	insecure O
	tls      func(credentials.TransportCredentials) O
}

func grpcOpts[O any](o *otlp, k grpcOptions[O]) []O {
	opts := []O{k.endpoint(o.endpoint), k.headers(o.headers), k.timeout(o.timeout)}
	if o.gzip {
		opts = append(opts, k.gzip)
	}
	if o.insecure {
		return append(opts, k.insecure)
	}
	return append(opts, k.tls(credentials.NewTLS(o.tlsConfig())))
}

// httpOptions are one otlp*http package's options (see grpcOptions).
type httpOptions[O any] struct {
	endpoint func(string) O
	headers  func(map[string]string) O
	timeout  func(time.Duration) O
	none     O // the HTTP exporters would read OTEL_EXPORTER_OTLP_*_COMPRESSION otherwise
	gzip     O
	tls      func(*tls.Config) O
}

func httpOpts[O any](o *otlp, k httpOptions[O]) []O {
	opts := []O{k.endpoint(o.endpoint), k.headers(o.headers), k.timeout(o.timeout), k.none}
	if o.gzip {
		opts = append(opts, k.gzip)
	}
	if !o.insecure {
		opts = append(opts, k.tls(o.tlsConfig()))
	}
	return opts
}

func (o *otlp) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if o.grpc {
		return otlptracegrpc.New(ctx, grpcOpts(o, grpcOptions[otlptracegrpc.Option]{
			endpoint: otlptracegrpc.WithEndpointURL, headers: otlptracegrpc.WithHeaders, timeout: otlptracegrpc.WithTimeout,
			gzip: otlptracegrpc.WithCompressor("gzip"), insecure: otlptracegrpc.WithInsecure(), tls: otlptracegrpc.WithTLSCredentials})...)
	}
	return otlptracehttp.New(ctx, httpOpts(o, httpOptions[otlptracehttp.Option]{
		endpoint: otlptracehttp.WithEndpointURL, headers: otlptracehttp.WithHeaders, timeout: otlptracehttp.WithTimeout,
		none: otlptracehttp.WithCompression(otlptracehttp.NoCompression), gzip: otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		tls: otlptracehttp.WithTLSClientConfig})...)
}

func (o *otlp) logExporter(ctx context.Context) (sdklog.Exporter, error) {
	if o.grpc {
		return otlploggrpc.New(ctx, grpcOpts(o, grpcOptions[otlploggrpc.Option]{
			endpoint: otlploggrpc.WithEndpointURL, headers: otlploggrpc.WithHeaders, timeout: otlploggrpc.WithTimeout,
			gzip: otlploggrpc.WithCompressor("gzip"), insecure: otlploggrpc.WithInsecure(), tls: otlploggrpc.WithTLSCredentials})...)
	}
	return otlploghttp.New(ctx, httpOpts(o, httpOptions[otlploghttp.Option]{
		endpoint: otlploghttp.WithEndpointURL, headers: otlploghttp.WithHeaders, timeout: otlploghttp.WithTimeout,
		none: otlploghttp.WithCompression(otlploghttp.NoCompression), gzip: otlploghttp.WithCompression(otlploghttp.GzipCompression),
		tls: otlploghttp.WithTLSClientConfig})...)
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
		opts := grpcOpts(o, grpcOptions[otlpmetricgrpc.Option]{
			endpoint: otlpmetricgrpc.WithEndpointURL, headers: otlpmetricgrpc.WithHeaders, timeout: otlpmetricgrpc.WithTimeout,
			gzip: otlpmetricgrpc.WithCompressor("gzip"), insecure: otlpmetricgrpc.WithInsecure(), tls: otlpmetricgrpc.WithTLSCredentials})
		return otlpmetricgrpc.New(ctx, append(opts, otlpmetricgrpc.WithTemporalitySelector(temporality),
			otlpmetricgrpc.WithAggregationSelector(aggregation))...)
	}
	opts := httpOpts(o, httpOptions[otlpmetrichttp.Option]{
		endpoint: otlpmetrichttp.WithEndpointURL, headers: otlpmetrichttp.WithHeaders, timeout: otlpmetrichttp.WithTimeout,
		none: otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression), gzip: otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
		tls: otlpmetrichttp.WithTLSClientConfig})
	return otlpmetrichttp.New(ctx, append(opts, otlpmetrichttp.WithTemporalitySelector(temporality),
		otlpmetrichttp.WithAggregationSelector(aggregation))...)
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
