package requestpath

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"testing"
)

var (
	flagSamplingOut  = flag.String("requestpath.samplingout", "", "write the sampling comparison's tables to this file")
	flagUnsampledOut = flag.String("requestpath.unsampledout", "", "write the unsampled comparison's tables to this file")
)

// TestRequestPathSampling is issue 20's comparison, interleaved like TestRequestPath, with
// issue 31's OTel stack beside it: the request path of ctxtrail and of the OTel stack with head
// sampling at 0%, 1%, 10% and 100% beside the uninstrumented build and the SDK floor sampling
// nothing. It checks that each build exported five spans for the share of requests it sampled
// (within 5 standard deviations of the binomial count) and that sampling everything allocates
// more than sampling nothing in every round; it never fails on timing.
func TestRequestPathSampling(t *testing.T) {
	c, l := compareFromFlags(t, SamplingVariants()...)
	checkSampledSpans(t, c, float64(l.Requests*len(c.Rounds)))
	if r := c.Ratio(CtxtrailDefaults, CtxtrailUnsampled, AllocsPerReq); r.Min <= 1 {
		t.Errorf("CtxtrailDefaults / CtxtrailUnsampled allocations per request: %+v, want above 1 in every round", r)
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nWhat sampling costs, per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | p50 | req/s |\n|---|---|---|---|---|\n")
	row := func(label string, f func(Metric) Summary) {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", label, f(CPUPerReq).ratio(), f(AllocsPerReq).ratio(), f(P50).ratio(), f(ReqPerSec).ratio())
	}
	for _, v := range []Variant{CtxtrailSampled1, CtxtrailSampled10, CtxtrailDefaults} {
		row(fmt.Sprintf("%v / CtxtrailUnsampled", v), func(m Metric) Summary { return c.Ratio(v, CtxtrailUnsampled, m) })
	}
	for _, v := range []Variant{CtxtrailUnsampled, CtxtrailSampled1, CtxtrailSampled10} {
		row(fmt.Sprintf("overhead over Uninstrumented: %v / CtxtrailDefaults", v),
			func(m Metric) Summary { return c.Overhead(v, CtxtrailDefaults, Uninstrumented, m) })
	}
	for _, p := range [][2]Variant{{CtxtrailUnsampled, OTelStackUnsampled}, {CtxtrailSampled1, OTelStackSampled1},
		{CtxtrailSampled10, OTelStackSampled10}, {CtxtrailDefaults, OTelStack}} {
		row(fmt.Sprintf("overhead over Uninstrumented: %v / %v", p[0], p[1]),
			func(m Metric) Summary { return c.Overhead(p[0], p[1], Uninstrumented, m) })
	}
	saveTables(t, &md, *flagSamplingOut)
}

// TestRequestPathUnsampled is issue 31's comparison: every build sampling nothing (the SDK
// floor, the OTel stack, ctxtrail) beside the uninstrumented one, interleaved. It checks that
// none exported a span and writes what each adds to the bare request; it never fails on timing.
func TestRequestPathUnsampled(t *testing.T) {
	c, l := compareFromFlags(t, UnsampledVariants()...)
	checkSampledSpans(t, c, float64(l.Requests*len(c.Rounds)))
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nWhat each adds to Uninstrumented, per round, min / **median** / max:\n\n| variant | CPU/req ratio | allocs/req more |\n|---|---|---|\n")
	for _, v := range UnsampledVariants()[1:] {
		d := c.Difference(v, Uninstrumented, AllocsPerReq)
		fmt.Fprintf(&md, "| %v | %s | %.1f / **%.1f** / %.1f |\n", v, c.Ratio(v, Uninstrumented, CPUPerReq).ratio(), d.Min, d.Median, d.Max)
	}
	md.WriteString("\nCPU overhead over Uninstrumented, per round, min / **median** / max:\n\n")
	for _, other := range []Variant{OTelStackUnsampled, SDKFloorUnsampled, SemconvFloorUnsampled} {
		fmt.Fprintf(&md, "- CtxtrailUnsampled / %v: %s\n", other, c.Overhead(CtxtrailUnsampled, other, Uninstrumented, CPUPerReq).ratio())
	}
	saveTables(t, &md, *flagUnsampledOut)
}

// checkSampledSpans checks that each variant of c exported five spans for the share of its n
// requests it sampled (within 5 standard deviations of the binomial count).
func checkSampledSpans(t *testing.T, c Comparison, n float64) {
	t.Helper()
	for _, v := range c.Variants {
		r := v.SamplingRatio()
		want, tol := 5*r, 5*5*math.Sqrt(r*(1-r)/n)
		if r > 0 && r < 1 {
			tol += 5 / n // one request's spans either way
		}
		if got := c.spansPerRequest(v); math.Abs(got-want) > tol {
			t.Errorf("%v exported %.3f spans a request, want %.3f ± %.3f (%.0f%% of 5)", v, got, want, tol, 100*r)
		}
	}
}
