package requestpath

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	flagN      = flag.Int("requestpath.n", 200, "requests per variant per round")
	flagRounds = flag.Int("requestpath.rounds", 2, "interleaved rounds")
	flagConc   = flag.Int("requestpath.c", 8, "concurrent keep-alive connections")
	flagCap    = flag.Duration("requestpath.cap", 60*time.Second, "time cap of one variant's run")
	flagWarmup = flag.Int("requestpath.warmup", 200, "warm-up requests per variant")
	flagOut    = flag.String("requestpath.out", "", "write the markdown tables to this file")
)

// TestRequestPath runs the interleaved comparison (small by default; the flags above size it)
// and checks that every request succeeded and every instrumented variant exported its five
// spans a request.
func TestRequestPath(t *testing.T) {
	c, l := compareFromFlags(t)
	for _, row := range c.Rounds {
		for _, s := range row {
			if s.Requests != l.Requests || s.CPU <= 0 || s.Allocs == 0 || s.P50 <= 0 || s.P99 < s.P50 {
				t.Errorf("implausible sample %+v", s)
			}
		}
	}
	for _, v := range Variants() {
		want := 5.0
		if v == Uninstrumented {
			want = 0
		}
		if got := c.spansPerRequest(v); got != want {
			t.Errorf("%v exported %.2f spans a request, want %.0f", v, got, want)
		}
		if v == Uninstrumented {
			continue
		}
		// Allocation counts, not times: every instrumented variant allocates more per request
		// than the bare one in every round, and Ratio says so with the variants in this order.
		if r := c.Ratio(v, Uninstrumented, AllocsPerReq); r.Min <= 1 {
			t.Errorf("%v / Uninstrumented allocations per request: %+v, want above 1 in every round", v, r)
		}
		if r := c.Ratio(Uninstrumented, v, AllocsPerReq); r.Max >= 1 {
			t.Errorf("Uninstrumented / %v allocations per request: %+v, want below 1 in every round", v, r)
		}
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, v := range Variants() {
		if !strings.Contains(md.String(), "| "+v.String()+" |") {
			t.Errorf("table has no row for %v", v)
		}
	}
	saveTables(t, &md, *flagOut)
}

// compareFromFlags runs Compare on variants (the main comparison's when none) at the size the
// -requestpath.* flags give, and fails the test for failed requests or capped runs.
func compareFromFlags(t *testing.T, variants ...Variant) (Comparison, Load) {
	t.Helper()
	l := Load{Requests: *flagN, Concurrency: *flagConc, TimeCap: *flagCap}
	c, err := Compare(context.Background(), l, *flagRounds, *flagWarmup, variants...)
	if err != nil {
		t.Fatal(err)
	}
	if failed, capped := c.Errors(); failed > 0 || capped > 0 {
		t.Errorf("%d failed requests, %d capped runs", failed, capped)
	}
	return c, l
}

// saveTables logs a comparison's tables and writes them to path when it is set.
func saveTables(t *testing.T, md *bytes.Buffer, path string) {
	t.Helper()
	t.Logf("\n%s", md.String())
	if path != "" {
		if err := os.WriteFile(path, md.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRatioAndOverhead checks the table's arithmetic on samples whose answers are known.
func TestRatioAndOverhead(t *testing.T) {
	sample := func(cpu time.Duration) Sample { return Sample{Requests: 10, CPU: 10 * cpu, Wall: time.Second} }
	c := Comparison{
		Variants: []Variant{Uninstrumented, OTelStack, CtxtrailDefaults},
		Rounds: [][]Sample{ // CPU per request: bare, OTel, ctxtrail
			{sample(100), sample(300), sample(200)},
			{sample(100), sample(500), sample(300)},
			{sample(200), sample(800), sample(500)},
			{{}, sample(1), sample(1)}, // the bare run measured nothing: left out of ratios over it
		},
	}
	tests := []struct {
		name string
		got  Summary
		want Summary
	}{
		{"ctxtrail / OTel", c.Ratio(CtxtrailDefaults, OTelStack, CPUPerReq), Summary{0.6, (0.625 + 2.0/3) / 2, 1}},
		{"OTel / bare", c.Ratio(OTelStack, Uninstrumented, CPUPerReq), Summary{3, 4, 5}},
		{"bare / OTel", c.Ratio(Uninstrumented, OTelStack, CPUPerReq), Summary{0, 0.225, 1.0 / 3}},
		{"overhead ctxtrail / OTel over bare", c.Overhead(CtxtrailDefaults, OTelStack, Uninstrumented, CPUPerReq),
			Summary{0.5, 0.5, 1}},
		{"absent variant", c.Ratio(CtxtrailLoaded, OTelStack, CPUPerReq), Summary{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const eps = 1e-9
			if d := []float64{tt.got.Min - tt.want.Min, tt.got.Median - tt.want.Median, tt.got.Max - tt.want.Max}; d[0] > eps ||
				d[0] < -eps || d[1] > eps || d[1] < -eps || d[2] > eps || d[2] < -eps {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadBounds(t *testing.T) {
	tests := []struct {
		name string
		load Load
	}{
		{"no requests", Load{Requests: 0, Concurrency: 1, TimeCap: time.Second}},
		{"too many requests", Load{Requests: MaxRequests + 1, Concurrency: 1, TimeCap: time.Second}},
		{"no connections", Load{Requests: 1, Concurrency: 0, TimeCap: time.Second}},
		{"too many connections", Load{Requests: 1, Concurrency: MaxConcurrency + 1, TimeCap: time.Second}},
		{"no time cap", Load{Requests: 1, Concurrency: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compare(context.Background(), tt.load, 1, 0); err == nil {
				t.Errorf("Compare accepted %+v", tt.load)
			}
		})
	}
	if _, err := Compare(context.Background(), Load{Requests: 1, Concurrency: 1, TimeCap: time.Second}, 0, 0); err == nil {
		t.Error("Compare accepted 0 rounds")
	}
}

// TestTimeCap checks that a run stops at its cap with what it completed.
func TestTimeCap(t *testing.T) {
	s, err := Start(Uninstrumented)
	if err != nil {
		t.Fatal(err)
	}
	defer closeService(t, s)
	g := NewGenerator(1)
	defer g.Close()
	sm, err := g.Run(context.Background(), s, Load{Requests: MaxRequests, Concurrency: 1, TimeCap: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !sm.Capped || sm.Requests == 0 || sm.Requests >= MaxRequests {
		t.Errorf("capped run: %+v", sm)
	}
}

// BenchmarkRequestPath sends requests to each variant from 4×GOMAXPROCS goroutines; benchstat
// compares the sub-benchmarks. cpu-ns/op is the process CPU time per request (servers, client
// and exporters).
func BenchmarkRequestPath(b *testing.B) { benchmarkVariants(b, Variants()) }

// BenchmarkRequestPathSampling is BenchmarkRequestPath over SamplingVariants.
func BenchmarkRequestPathSampling(b *testing.B) { benchmarkVariants(b, SamplingVariants()) }

// BenchmarkRequestPathUnsampled is BenchmarkRequestPath over UnsampledVariants (issue 31).
func BenchmarkRequestPathUnsampled(b *testing.B) { benchmarkVariants(b, UnsampledVariants()) }

func benchmarkVariants(b *testing.B, variants []Variant) {
	for _, v := range variants {
		b.Run(v.String(), func(b *testing.B) {
			s, err := Start(v)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := s.Close(context.Background()); err != nil {
					b.Error(err)
				}
			}()
			g := NewGenerator(64)
			defer g.Close()
			url := s.URL()
			var failed atomic.Int64
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if status, _, _, err := g.Do(context.Background(), url); err != nil || status != 200 {
						failed.Add(1)
					}
				}
			})
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d requests failed", n, b.N)
			}
		})
	}
}
