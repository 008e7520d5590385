package requestpath

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"testing"
)

var flagKeepOut = flag.String("requestpath.keepout", "", "write the capture comparison's tables to this file")

// TestRequestPathKeep is issue 31's comparison, interleaved like TestRequestPath: the request
// path at 1% head sampling without and with the in-process capture (CtxtrailKeep1), the cost of
// recording every span under ctxtrail (CtxtrailRecordOnly) and in the bare SDK
// (SDKFloorRecordOnly, beside SDKFloor at 100%), against the uninstrumented build. Every request
// here succeeds fast, so the capture must export only what the head samples: five spans for 1%
// of requests, within 5 standard deviations. It never fails on timing.
func TestRequestPathKeep(t *testing.T) {
	c, l := compareFromFlags(t, KeepVariants()...)
	n := float64(l.Requests * len(c.Rounds))
	for _, v := range []Variant{CtxtrailSampled1, CtxtrailKeep1, CtxtrailRecordOnly, SDKFloorRecordOnly} {
		r := v.SamplingRatio()
		want, tol := 5*r, 5*5*math.Sqrt(r*(1-r)/n)+5/n
		if got := c.spansPerRequest(v); math.Abs(got-want) > tol {
			t.Errorf("%v exported %.4f spans a request, want %.4f ± %.4f", v, got, want, tol)
		}
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nWhat the capture costs, per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | p50 | req/s |\n|---|---|---|---|---|\n")
	row := func(label string, f func(Metric) Summary) {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", label, f(CPUPerReq).ratio(), f(AllocsPerReq).ratio(), f(P50).ratio(), f(ReqPerSec).ratio())
	}
	pairs := [][2]Variant{
		{CtxtrailKeep1, Uninstrumented}, {CtxtrailSampled1, Uninstrumented}, {CtxtrailKeep1, CtxtrailSampled1},
		{CtxtrailRecordOnly, Uninstrumented}, {CtxtrailKeep1, CtxtrailRecordOnly},
		{SDKFloorRecordOnly, Uninstrumented}, {SDKFloor, Uninstrumented},
	}
	for _, p := range pairs {
		row(fmt.Sprintf("%v / %v", p[0], p[1]), func(m Metric) Summary { return c.Ratio(p[0], p[1], m) })
	}
	saveTables(t, &md, *flagKeepOut)
}
