package jaegerdeploy

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/jaegertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var (
	gatewayLoad    = flag.Duration("gateway.load", 0, "TestGatewayThroughput: how long to load the gateway (0 skips the test)")
	gatewaySenders = flag.Int("gateway.senders", 4, "TestGatewayThroughput: concurrent OTLP/HTTP senders")
	gatewayRate    = flag.Int("gateway.rate", 0, "TestGatewayThroughput: spans per second offered (0: as fast as the gateway accepts)")
	gatewayEnv     = flag.String("gateway.env", "", "TestGatewayThroughput: comma-separated NAME=value for gateway.yaml (GATEWAY_NUM_TRACES=200000,...)")
)

// Each batch the senders post: 50 traces of 10 spans, the shape of a checkout across three
// services; one trace in 20 has an error span.
const (
	tracesPerBatch = 50
	spansPerTrace  = 10
	errorEvery     = 20
)

// TestGatewayThroughput measures what the gateway tier sustains on this machine: senders post
// batches of fresh traces over OTLP/HTTP, -gateway.rate spans a second (or, at 0, as fast as
// the gateway accepts them; a refusal by memory_limiter is retried by the exporter), for
// -gateway.load, with both tiers at
// their defaults (10s decision wait, 10% of the rest kept, 512 MiB limit). It reports, over the
// steady window after the first decision wait: spans accepted per second, the gateway's CPU
// per 1,000 spans and RSS (from its own metrics), traces decided and kept, spans refused or
// evicted, and what storage wrote. It is a measurement, run by hand (benchmarks/results/scale.md);
// it fails only if the gateway evicts traces before deciding them, which loses them.
//
//	go test ./deploy/jaeger -run TestGatewayThroughput -v -args -gateway.load 45s -gateway.rate 20000
func TestGatewayThroughput(t *testing.T) {
	if *gatewayLoad <= 0 {
		t.Skip("a measurement: go test ./deploy/jaeger -run TestGatewayThroughput -v -args -gateway.load 45s -gateway.rate 20000")
	}
	var env []string
	if *gatewayEnv != "" {
		env = strings.Split(*gatewayEnv, ",")
	}
	tiers := jaegertest.StartTiers(t, ".", t.TempDir(), env...)
	pid := tiers.Gateway.Pid()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	res := resource.NewSchemaless(attribute.String("service.name", "loadgen"))
	var sent, skipped atomic.Int64
	var wg sync.WaitGroup
	// With a rate, a ticker hands out one batch at a time (open loop, up to the senders'
	// concurrency); without one, each sender posts its next batch when the last is accepted.
	var tokens chan struct{}
	if *gatewayRate > 0 {
		tokens = make(chan struct{}, *gatewaySenders) // a short backlog: a sender building its batch misses no tick
		every := time.Duration(float64(time.Second) * tracesPerBatch * spansPerTrace / float64(*gatewayRate))
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					select {
					case tokens <- struct{}{}:
					default: // a backlog already: the gateway is not keeping up; the batch is not offered
						skipped.Add(1)
					}
				}
			}
		})
	}
	var exporters []*otlptrace.Exporter
	for range *gatewaySenders {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(tiers.OTLP+"/v1/traces"))
		if err != nil {
			t.Fatal(err)
		}
		exporters = append(exporters, exp)
		wg.Go(func() {
			for ctx.Err() == nil {
				if tokens != nil {
					select {
					case <-ctx.Done():
						return
					case <-tokens:
					}
				}
				batch := newBatch(res)
				if err := exp.ExportSpans(ctx, batch); err == nil {
					sent.Add(int64(len(batch)))
				}
			}
		})
	}

	type sample struct {
		at                                           time.Time
		accepted, refused, cpu, rss, decided, kept   float64
		evicted, written, loadCPU, sentSpans, onHeap float64
		procCPU, procRSS                             float64 // the gateway's, from /proc
	}
	take := func() sample {
		m := func(url, name, label string) float64 {
			v, _ := jaegertest.Metric(url, name, label)
			return v
		}
		g := tiers.GatewayMetrics
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return sample{
			at:        time.Now(),
			accepted:  m(g, "otelcol_receiver_accepted_spans", ""),
			refused:   m(g, "otelcol_receiver_refused_spans", ""),
			cpu:       m(g, "otelcol_process_cpu_seconds", ""),
			rss:       m(g, "otelcol_process_memory_rss_bytes", ""),
			decided:   m(g, "otelcol_processor_tail_sampling_global_count_traces_sampled", ""),
			kept:      m(g, "otelcol_processor_tail_sampling_global_count_traces_sampled", `sampled="true"`),
			evicted:   m(g, "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early", ""),
			onHeap:    m(g, "otelcol_processor_tail_sampling_sampling_traces_on_memory", ""),
			written:   m(tiers.StorageMetrics, "otelcol_exporter_sent_spans", ""),
			loadCPU:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
			sentSpans: float64(sent.Load()),
			procCPU:   procCPU(t, pid),
			procRSS:   procRSS(t, pid),
		}
	}
	// Steady state starts once the first traces are decided: before, the gateway only buffers.
	warm := 10*time.Second + 5*time.Second
	if *gatewayLoad <= warm {
		t.Fatalf("-gateway.load %v: want more than the %v warm-up", *gatewayLoad, warm)
	}
	time.Sleep(warm)
	first := take()
	var maxRSS, sumRSS float64
	var n int
	for time.Since(first.at) < *gatewayLoad-warm {
		time.Sleep(time.Second)
		s := take()
		maxRSS = max(maxRSS, s.procRSS)
		sumRSS += s.procRSS
		n++
	}
	last := take()
	cancel()
	wg.Wait()
	for _, e := range exporters {
		_ = e.Shutdown(context.Background())
	}

	secs := last.at.Sub(first.at).Seconds()
	offered := func() string {
		if *gatewayRate == 0 {
			return "as fast as accepted"
		}
		return fmt.Sprintf("%d spans/s", *gatewayRate)
	}
	acc := last.accepted - first.accepted
	dec := last.decided - first.decided
	kept := last.kept - first.kept
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("RESULT gateway: offered %s, %.0f spans/s accepted over %.0fs steady (%d senders, %d-span batches), gateway CPU (/proc) %.2f cores (%.1f ms per 1,000 spans; its own metric says %.2f), "+
		"RSS (/proc) mean %.0f MiB max %.0f MiB, %.0f traces/s decided, %.1f%% kept (%.0f/s), traces in memory at the end %.0f, refused spans %.0f, evicted traces %.0f, "+
		"storage wrote %.0f spans/s; batches not offered (backlog) %d; load generator CPU %.2f cores; load %s",
		offered(), acc/secs, secs, *gatewaySenders, tracesPerBatch*spansPerTrace,
		(last.procCPU-first.procCPU)/secs, 1000*(last.procCPU-first.procCPU)/acc*1000, (last.cpu-first.cpu)/secs,
		sumRSS/float64(n)/(1<<20), maxRSS/(1<<20), dec/secs, 100*kept/dec, kept/secs, last.onHeap,
		last.refused, last.evicted, (last.written-first.written)/secs, skipped.Load(), (last.loadCPU-first.loadCPU)/secs,
		strings.TrimSpace(string(load)))
	if acc == 0 || dec == 0 {
		t.Fatalf("nothing accepted or decided: %+v %+v", first, last)
	}
	if last.evicted > 0 {
		t.Errorf("the gateway evicted %.0f traces undecided: num_traces is too small for this rate", last.evicted)
	}
}

// newBatch returns tracesPerBatch fresh traces of spansPerTrace spans each: a server root, its
// children in a chain of calls, one error trace in errorEvery.
func newBatch(res *resource.Resource) []sdktrace.ReadOnlySpan {
	scope := instrumentation.Scope{Name: "loadgen"}
	now := time.Now()
	out := make([]sdktrace.ReadOnlySpan, 0, tracesPerBatch*spansPerTrace)
	for i := range tracesPerBatch {
		var tid trace.TraceID
		_, _ = rand.Read(tid[:])
		var parent trace.SpanContext
		for j := range spansPerTrace {
			var sid trace.SpanID
			_, _ = rand.Read(sid[:])
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
			kind := trace.SpanKindInternal
			if j == 0 {
				kind = trace.SpanKindServer
			}
			stub := tracetest.SpanStub{
				Name: "op " + strconv.Itoa(j), SpanContext: sc, Parent: parent, SpanKind: kind,
				StartTime: now.Add(time.Duration(j) * time.Millisecond), EndTime: now.Add(time.Duration(30-j) * time.Millisecond),
				Attributes:           []attribute.KeyValue{attribute.String("http.route", "/checkout"), attribute.Int("step", j)},
				Resource:             res,
				InstrumentationScope: scope,
			}
			if i%errorEvery == 0 && j == spansPerTrace-1 {
				stub.Status = sdktrace.Status{Code: codes.Error, Description: "card declined"}
			}
			out = append(out, stub.Snapshot())
			parent = sc
		}
	}
	return out
}

// procCPU returns the user+system CPU seconds of process pid, from /proc/pid/stat.
func procCPU(t *testing.T, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ, 100 on Linux
}

// procRSS returns the resident set of process pid in bytes, from /proc/pid/status.
func procRSS(t *testing.T, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
