package requestpath

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"testing"
)

var flagSamplingOut = flag.String("requestpath.samplingout", "", "write the sampling comparison's tables to this file")

// TestRequestPathSampling is issue 20's comparison, interleaved like TestRequestPath: the
// request path with head sampling at 0% (CtxtrailUnsampled), 1%, 10% and 100%
// (CtxtrailDefaults) beside the uninstrumented build. It checks that each build exported five
// spans for the share of requests it sampled (within 5 standard deviations of the binomial
// count) and that sampling everything allocates more than sampling nothing in every round; it
// never fails on timing.
func TestRequestPathSampling(t *testing.T) {
	c, l := compareFromFlags(t, SamplingVariants()...)
	n := float64(l.Requests * len(c.Rounds))
	for _, v := range SamplingVariants() {
		r := v.SamplingRatio()
		want, tol := 5*r, 5*5*math.Sqrt(r*(1-r)/n)
		if v != Uninstrumented && v != CtxtrailUnsampled && r < 1 {
			tol += 5 / n // one request's spans either way
		}
		if got := c.spansPerRequest(v); math.Abs(got-want) > tol {
			t.Errorf("%v exported %.3f spans a request, want %.3f ± %.3f (%.0f%% of 5)", v, got, want, tol, 100*r)
		}
	}
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
	for _, v := range SamplingVariants()[2:] {
		row(fmt.Sprintf("%v / CtxtrailUnsampled", v), func(m Metric) Summary { return c.Ratio(v, CtxtrailUnsampled, m) })
	}
	for _, v := range []Variant{CtxtrailUnsampled, CtxtrailSampled1, CtxtrailSampled10} {
		row(fmt.Sprintf("overhead over Uninstrumented: %v / CtxtrailDefaults", v),
			func(m Metric) Summary { return c.Overhead(v, CtxtrailDefaults, Uninstrumented, m) })
	}
	saveTables(t, &md, *flagSamplingOut)
}
