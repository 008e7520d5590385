package requestpath

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"testing"
)

var flagMonitorOut = flag.String("requestpath.monitorout", "", "write the monitor comparison's tables to this file")

// TestRequestPathMonitor is issue 29's comparison, interleaved like TestRequestPath: the
// defaults, the defaults with a Monitor without its latency table, and with it, the page idle
// (nobody reads it during the rounds). It never fails on timing.
func TestRequestPathMonitor(t *testing.T) {
	c, l := compareFromFlags(t, MonitorVariants()...)
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nWhat the monitor's latency table costs, per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | p50 | req/s |\n|---|---|---|---|---|\n")
	row := func(label string, f func(Metric) Summary) {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", label, f(CPUPerReq).ratio(), f(AllocsPerReq).ratio(), f(P50).ratio(), f(ReqPerSec).ratio())
	}
	row("CtxtrailMonitor / CtxtrailMonitorOff (the latency table)", func(m Metric) Summary { return c.Ratio(CtxtrailMonitor, CtxtrailMonitorOff, m) })
	row("CtxtrailMonitor / CtxtrailDefaults (the whole monitor)", func(m Metric) Summary { return c.Ratio(CtxtrailMonitor, CtxtrailDefaults, m) })
	row("CtxtrailMonitorOff / CtxtrailDefaults (the monitor before)", func(m Metric) Summary { return c.Ratio(CtxtrailMonitorOff, CtxtrailDefaults, m) })
	fmt.Fprintf(&md, "\n%d requests per variant per round, %d rounds.\n", l.Requests, len(c.Rounds))
	saveTables(t, &md, *flagMonitorOut)
}

// The monitor variants are what they say: CtxtrailMonitor's latency table counts both
// services' server spans, CtxtrailMonitorOff has none.
func TestMonitorVariants(t *testing.T) {
	for _, v := range []Variant{CtxtrailMonitorOff, CtxtrailMonitor} {
		s, err := Start(v)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			resp, err := http.Get(s.URL())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		var served uint64
		for _, r := range s.monitor.Latency(false) {
			served += r.Requests
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if want := map[Variant]uint64{CtxtrailMonitorOff: 0, CtxtrailMonitor: 6}[v]; served != want {
			t.Errorf("%v: the latency table counted %d requests, want %d", v, served, want)
		}
	}
}
