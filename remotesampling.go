package ctxtrail

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/remotesampling"
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
)

// WithRemoteSampler is the seam package jaegerremote plugs into: call jaegerremote.Enable()
// instead. Its argument's type is internal to ctxtrail, so no other package can make one; a nil
// start changes nothing.
func WithRemoteSampler(start remotesampling.Start) Option {
	return optionFunc(func(c config) config {
		if start != nil {
			c.remoteSampler = start
		}
		return c
	})
}

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
// Without a remote sampler compiled in (jaegerremote.Enable), the sampler name itself is the
// error, before the argument is read.
func remoteSamplerFromEnv(name, arg string, compiledIn bool) (sdktrace.Sampler, error) {
	if !compiledIn {
		return nil, configErr("OTEL_TRACES_SAMPLER=%q: the Jaeger remote sampler is not compiled into "+
			"this program; add jaegerremote.Enable() to Install's options "+
			"(import github.com/ctxtrail/ctxtrail/jaegerremote)", name)
	}
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

// startSampler starts the polling of a jaeger_remote plan, through start (jaegerremote.Enable's),
// for the service named in res, and returns the sampler to give the SDK and the function that
// stops the polling. Any other sampler is returned as it is, with a stop that does nothing.
// Failed polls are reported through warn (WithErrorHandler's function, or otel.Handle), which is
// in place before the first poll starts.
func startSampler(s sdktrace.Sampler, start remotesampling.Start, res *resource.Resource, warn func(error)) (sdktrace.Sampler, func()) {
	p, ok := s.(*remoteSamplerPlan)
	if !ok || start == nil { // a plan exists only when start does (remoteSamplerFromEnv)
		return s, func() {}
	}
	service := "unknown_service"
	if v, ok := res.Set().Value(attribute.Key("service.name")); ok && v.AsString() != "" {
		service = v.AsString()
	}
	return start(remotesampling.Settings{
		ParentBased:         p.parentBased,
		Endpoint:            p.endpoint,
		PollingInterval:     p.interval,
		InitialSamplingRate: p.initial,
		ServiceName:         service,
		Warn:                warn,
	})
}
