package requestpath

import (
	"bytes"
	"flag"
	"fmt"
	"testing"
)

var flagMetricsOut = flag.String("requestpath.metricsout", "", "write the metrics comparison's tables to this file")

// TestRequestPathMetrics is issue 17's comparison, interleaved like TestRequestPath:
// CtxtrailDefaults, CtxtrailMetrics (HTTP metrics into a manual reader), OTelStackMetrics
// (otelhttp's metrics into a real SDK MeterProvider with a manual reader) and OTelStack (no-op
// metrics). The goals are printed with their verdicts; the test only fails on broken runs,
// never on timing.
func TestRequestPathMetrics(t *testing.T) {
	c, _ := compareFromFlags(t, MetricsVariants()...)
	for _, v := range MetricsVariants() {
		if got := c.spansPerRequest(v); got != 5 {
			t.Errorf("%v exported %.2f spans a request, want 5", v, got)
		}
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nGoals (issue 17), per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | goal |\n|---|---|---|---|\n")
	goal := func(label string, v, base Variant, want string) {
		fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", label,
			c.Ratio(v, base, CPUPerReq).ratio(), c.Ratio(v, base, AllocsPerReq).ratio(), want)
	}
	goal("CtxtrailMetrics / OTelStackMetrics", CtxtrailMetrics, OTelStackMetrics, "≤ 0.80 CPU and allocs")
	goal("CtxtrailMetrics / CtxtrailDefaults", CtxtrailMetrics, CtxtrailDefaults, "≤ 1.10 CPU, allocs 1.00")
	goal("OTelStackMetrics / OTelStack", OTelStackMetrics, OTelStack, "(what metrics cost otelhttp)")
	fmt.Fprintf(&md, "\nAllocations per request, medians: CtxtrailDefaults %.1f, CtxtrailMetrics %.1f, OTelStack %.1f, OTelStackMetrics %.1f.\n",
		c.Absolute(CtxtrailDefaults, AllocsPerReq).Median, c.Absolute(CtxtrailMetrics, AllocsPerReq).Median,
		c.Absolute(OTelStack, AllocsPerReq).Median, c.Absolute(OTelStackMetrics, AllocsPerReq).Median)
	saveTables(t, &md, *flagMetricsOut)
}
