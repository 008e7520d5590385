package jaegerremote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/remotesampling"
	"github.com/go-logr/logr"
	contrib "go.opentelemetry.io/contrib/samplers/jaegerremote"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// reportEvery bounds how often a failing poll is reported.
const reportEvery = time.Minute

// Enable compiles the Jaeger remote sampler into the program and lets OTEL_TRACES_SAMPLER choose
// it: with jaeger_remote or parentbased_jaeger_remote, Install polls Jaeger for the service's
// sampling strategy, as OTEL_TRACES_SAMPLER_ARG says. Enable chooses nothing by itself: any other
// OTEL_TRACES_SAMPLER, or ctxtrail.WithSampler, leaves the remote sampler unused. Without Enable,
// those two values make Install fail with an error wrapping ctxtrail.ErrConfig.
func Enable() ctxtrail.Option { return ctxtrail.WithRemoteSampler(start) }

// start starts polling with contrib's sampler for the service in s and returns the sampler to
// give the SDK and the function that stops the polling. The first poll runs in the background:
// until it answers, and whenever the endpoint cannot be reached, the sampler keeps the last
// strategy it had, the initial rate at first, so neither start-up nor requests wait on Jaeger.
// A failing poll is reported through s.Warn at most once a minute.
func start(s remotesampling.Settings) (sdktrace.Sampler, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	r := contrib.New(s.ServiceName,
		contrib.WithSamplingServerURL(s.Endpoint),
		contrib.WithSamplingStrategyFetcher(&strategyFetcher{ctx: ctx, endpoint: s.Endpoint}),
		contrib.WithSamplingRefreshInterval(s.PollingInterval),
		contrib.WithInitialSampler(sdktrace.TraceIDRatioBased(s.InitialSamplingRate)),
		contrib.WithLogger(logr.New(&pollErrorSink{ctx: ctx, endpoint: s.Endpoint, initial: s.InitialSamplingRate, warn: s.Warn})),
	)
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); r.Close() }) } // cancel first: Close waits for a poll in flight
	if s.ParentBased {
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

// pollErrorSink turns contrib's sampler's error logs (a poll that failed) into reports through
// warn, at most one per reportEvery, and drops its info logs.
type pollErrorSink struct {
	ctx      context.Context // cancelled when the sampler stops: a poll cut short then is no failure
	endpoint string
	initial  float64
	warn     func(error)  // the Provider's error route: WithErrorHandler's function, or otel.Handle
	last     atomic.Int64 // unix nanoseconds of the last report
}

var _ logr.LogSink = (*pollErrorSink)(nil)

func (*pollErrorSink) Init(logr.RuntimeInfo)            {}
func (*pollErrorSink) Enabled(int) bool                 { return false }
func (*pollErrorSink) Info(int, string, ...any)         {}
func (s *pollErrorSink) WithValues(...any) logr.LogSink { return s }
func (s *pollErrorSink) WithName(string) logr.LogSink   { return s }
func (s *pollErrorSink) Error(err error, msg string, _ ...any) {
	if s.ctx.Err() != nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.last.Load()
	if last != 0 && now-last < int64(reportEvery) {
		return
	}
	if !s.last.CompareAndSwap(last, now) {
		return
	}
	s.warn(fmt.Errorf("ctxtrail: jaeger_remote sampler: %s from %s: %w; sampling goes on with the "+
		"last strategy received, or initialSamplingRate=%v if none was (next report in %v at the earliest)",
		msg, s.endpoint, err, s.initial, reportEvery))
}
