package requestpath

import (
	"bytes"
	"flag"
	"fmt"
	"testing"
)

var flagEvidenceOut = flag.String("requestpath.evidenceout", "", "write the evidence comparison's tables to this file")

// TestRequestPathEvidence is issue 30's comparison, interleaved like TestRequestPath:
// CtxtrailDefaults against CtxtrailLabels (spans/evidence's profile labels on both services).
// The goal is printed with its verdict; the test only fails on broken runs, never on timing.
func TestRequestPathEvidence(t *testing.T) {
	c, _ := compareFromFlags(t, EvidenceVariants()...)
	for _, v := range EvidenceVariants() {
		if got := c.spansPerRequest(v); got != 5 {
			t.Errorf("%v exported %.2f spans a request, want 5", v, got)
		}
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nGoal (issue 30), per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | goal |\n|---|---|---|---|\n")
	fmt.Fprintf(&md, "| CtxtrailLabels / CtxtrailDefaults | %s | %s | ≤ 1.03 CPU, ≤ +2 allocs |\n",
		c.Ratio(CtxtrailLabels, CtxtrailDefaults, CPUPerReq).ratio(), c.Ratio(CtxtrailLabels, CtxtrailDefaults, AllocsPerReq).ratio())
	fmt.Fprintf(&md, "\nAllocations per request, medians: CtxtrailDefaults %.1f, CtxtrailLabels %.1f (two services: the labels' cost counts twice).\n",
		c.Absolute(CtxtrailDefaults, AllocsPerReq).Median, c.Absolute(CtxtrailLabels, AllocsPerReq).Median)
	saveTables(t, &md, *flagEvidenceOut)
}

var flagFlightOut = flag.String("requestpath.flightout", "", "write the flight recorder comparison's tables to this file")

// TestRequestPathFlight is issue 30's flight recorder comparison: the runtime's recorder runs
// for the whole comparison (CtxtrailFlight's Recorder starts it, and it is process-wide), so
// CtxtrailFlight / CtxtrailDefaults is what ctxtrail adds on top of it.
func TestRequestPathFlight(t *testing.T) {
	c, _ := compareFromFlags(t, FlightVariants()...)
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nGoal (issue 30), per round, min / **median** / max, the runtime's recorder running under both:\n\n| comparison | CPU/req | allocs/req | goal |\n|---|---|---|---|\n")
	fmt.Fprintf(&md, "| CtxtrailFlight / CtxtrailDefaults | %s | %s | ≤ 1.02 CPU |\n",
		c.Ratio(CtxtrailFlight, CtxtrailDefaults, CPUPerReq).ratio(), c.Ratio(CtxtrailFlight, CtxtrailDefaults, AllocsPerReq).ratio())
	saveTables(t, &md, *flagFlightOut)
}
