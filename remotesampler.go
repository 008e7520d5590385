package ctxtrail

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/samplers/jaegerremote"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The defaults of OTEL_TRACES_SAMPLER=jaeger_remote. The OpenTelemetry specification names a
// gRPC endpoint on 14250, but the Go sampler (go.opentelemetry.io/contrib/samplers/jaegerremote)
// speaks HTTP, so the default is where Jaeger (v2's remote_sampling extension, v1's agent) serves
// strategies over HTTP.
const (
	defaultRemoteSamplingEndpoint = "http://localhost:5778/sampling"
	defaultRemoteSamplingInterval = 60 * time.Second
	defaultRemoteSamplingRate     = 0.001
	// remoteSamplingReportEvery bounds how often a failing poll is reported.
	remoteSamplingReportEvery = time.Minute
)

// remoteSamplerPlan is what samplerFromEnv returns for jaeger_remote and
// parentbased_jaeger_remote: the parsed arguments, checked, with no goroutine yet. Install
// starts it (startSampler) once it knows the service name and can no longer fail before the
// Provider exists, so that Provider.Shutdown always stops the polling goroutine.
type remoteSamplerPlan struct {
	parentBased bool
	endpoint    string
	interval    time.Duration
	initial     float64
}

// ShouldSample samples at the initial rate: a plan is only used unstarted if Install hands it to
// the SDK without starting it, which it does not; this keeps the type a valid sdktrace.Sampler.
func (p *remoteSamplerPlan) ShouldSample(s sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.TraceIDRatioBased(p.initial).ShouldSample(s)
}

func (p *remoteSamplerPlan) Description() string {
	return fmt.Sprintf("JaegerRemotePlan{endpoint=%s}", p.endpoint)
}

// remoteSamplerFromEnv parses OTEL_TRACES_SAMPLER_ARG for the jaeger_remote samplers: a
// comma-separated list of key=value with the keys endpoint, pollingIntervalMs and
// initialSamplingRate, each optional. Every bad part is an ErrConfig error naming the key.
func remoteSamplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	p := &remoteSamplerPlan{
		parentBased: name == "parentbased_jaeger_remote",
		endpoint:    defaultRemoteSamplingEndpoint,
		interval:    defaultRemoteSamplingInterval,
		initial:     defaultRemoteSamplingRate,
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(arg, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, configErr("OTEL_TRACES_SAMPLER_ARG=%q: %q is not key=value; for %s write "+
				"endpoint=http://jaeger:5778/sampling,pollingIntervalMs=60000,initialSamplingRate=0.001", arg, part, name)
		}
		if seen[key] {
			return nil, configErr("OTEL_TRACES_SAMPLER_ARG=%q: %s is given twice", arg, key)
		}
		seen[key] = true
		switch key {
		case "endpoint":
			u, err := url.Parse(value)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
				return nil, configErr("OTEL_TRACES_SAMPLER_ARG endpoint=%q: want the http or https URL "+
					"of Jaeger's sampling endpoint, such as http://jaeger:5778/sampling (the Go sampler "+
					"speaks HTTP, not gRPC on 14250)", value)
			}
			if port := u.Port(); port != "" {
				if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
					return nil, configErr("OTEL_TRACES_SAMPLER_ARG endpoint=%q: port %q is not a port number", value, port)
				}
			}
			if u.Path == "" || u.Path == "/" {
				u.Path = "/sampling" // Jaeger's path; http://jaeger:5778 is what people write
			}
			p.endpoint = u.String()
		case "pollingIntervalMs":
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 {
				if d, derr := time.ParseDuration(value); derr == nil && d > 0 {
					return nil, configErr("OTEL_TRACES_SAMPLER_ARG pollingIntervalMs=%q: the unit is "+
						"milliseconds, as a whole number without a unit: write pollingIntervalMs=%d for %v",
						value, max(d.Milliseconds(), 1), d)
				}
				return nil, configErr("OTEL_TRACES_SAMPLER_ARG pollingIntervalMs=%q: want a positive whole "+
					"number of milliseconds, such as 60000", value)
			}
			p.interval = time.Duration(n) * time.Millisecond
		case "initialSamplingRate":
			v, err := strconv.ParseFloat(value, 64)
			if err != nil || !(v >= 0 && v <= 1) {
				return nil, configErr("OTEL_TRACES_SAMPLER_ARG initialSamplingRate=%q: want a ratio from 0 to 1, "+
					"such as 0.001", value)
			}
			p.initial = v
		default:
			return nil, configErr("OTEL_TRACES_SAMPLER_ARG=%q: %s takes endpoint, pollingIntervalMs and "+
				"initialSamplingRate, not %q (the names are case-sensitive)", arg, name, key)
		}
	}
	return p, nil
}

// startSampler starts the polling of a jaeger_remote plan for the service named in res and
// returns the sampler to give the SDK and the function that stops the polling. Any other sampler
// is returned as it is, with a stop that does nothing. The first poll runs in the background:
// until it answers, and whenever the endpoint cannot be reached, the sampler keeps the last
// strategy it had, the initial rate at first, so neither start-up nor requests wait on Jaeger.
// A failing poll is reported through warn (WithErrorHandler's function, or otel.Handle), at most
// once a minute; warn is in place before the first poll starts.
func startSampler(s sdktrace.Sampler, res *resource.Resource, warn func(error)) (sdktrace.Sampler, func()) {
	p, ok := s.(*remoteSamplerPlan)
	if !ok {
		return s, func() {}
	}
	service := "unknown_service"
	if v, ok := res.Set().Value(attribute.Key("service.name")); ok && v.AsString() != "" {
		service = v.AsString()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := jaegerremote.New(service,
		jaegerremote.WithSamplingServerURL(p.endpoint),
		jaegerremote.WithSamplingStrategyFetcher(&strategyFetcher{ctx: ctx, endpoint: p.endpoint}),
		jaegerremote.WithSamplingRefreshInterval(p.interval),
		jaegerremote.WithInitialSampler(sdktrace.TraceIDRatioBased(p.initial)),
		jaegerremote.WithLogger(logr.New(&remoteSamplingSink{ctx: ctx, endpoint: p.endpoint, initial: p.initial, warn: warn})),
	)
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); r.Close() }) } // cancel first: Close waits for a poll in flight
	if p.parentBased {
		return sdktrace.ParentBased(r), stop
	}
	return r, stop
}

// maxStrategyBytes bounds the strategy document read from the endpoint; Jaeger's are a few KiB.
const maxStrategyBytes = 1 << 20

// strategyFetcher is the sampler's HTTP fetch with a context that stopping the sampler cancels,
// so Provider.Shutdown does not wait out a hung endpoint (the contrib fetcher's timeout is 10s),
// and a bounded read of the answer.
type strategyFetcher struct {
	ctx      context.Context
	endpoint string
}

// strategyClient closes its connections after each poll: polls are a minute apart by default,
// and an idle connection would be a goroutine left running after Shutdown.
var strategyClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}()

func (f *strategyFetcher) Fetch(service string) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet,
		f.endpoint+"?"+url.Values{"service": {service}}.Encode(), http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := strategyClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStrategyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxStrategyBytes {
		return nil, fmt.Errorf("strategy larger than %d bytes", maxStrategyBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return body, nil
}

// remoteSamplingSink turns the jaegerremote sampler's error logs (a poll that failed) into
// reports through warn, at most one per remoteSamplingReportEvery, and drops its info logs.
type remoteSamplingSink struct {
	ctx      context.Context // cancelled when the sampler stops: a poll cut short then is no failure
	endpoint string
	initial  float64
	warn     func(error)  // the Provider's error route (errorRouter.warn)
	last     atomic.Int64 // unix nanoseconds of the last report
}

func (*remoteSamplingSink) Init(logr.RuntimeInfo)            {}
func (*remoteSamplingSink) Enabled(int) bool                 { return false }
func (*remoteSamplingSink) Info(int, string, ...any)         {}
func (s *remoteSamplingSink) WithValues(...any) logr.LogSink { return s }
func (s *remoteSamplingSink) WithName(string) logr.LogSink   { return s }
func (s *remoteSamplingSink) Error(err error, msg string, _ ...any) {
	if s.ctx.Err() != nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.last.Load()
	if last != 0 && now-last < int64(remoteSamplingReportEvery) {
		return
	}
	if !s.last.CompareAndSwap(last, now) {
		return
	}
	s.warn(fmt.Errorf("ctxtrail: jaeger_remote sampler: %s from %s: %w; sampling goes on with the "+
		"last strategy received, or initialSamplingRate=%v if none was (next report in %v at the earliest)",
		msg, s.endpoint, err, s.initial, remoteSamplingReportEvery))
}
