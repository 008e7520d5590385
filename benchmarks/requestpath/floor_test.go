package requestpath

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var flagFloorOut = flag.String("requestpath.floorout", "", "write the floor comparison's tables to this file")

// TestRequestPathFloors is issue 19's measured argument for the CPU goal, interleaved like
// TestRequestPath: the bare request, the SDK floor, the SDK with ctxtrail's output written by
// hand (SemconvFloor), ctxtrail and the OTel stack. It checks that every instrumented build
// exported five spans a request and that SemconvFloor allocates more than SDKFloor in every
// round (it writes more); it never fails on timing.
func TestRequestPathFloors(t *testing.T) {
	c, _ := compareFromFlags(t, FloorVariants()...)
	for _, v := range FloorVariants()[1:] {
		if got := c.spansPerRequest(v); got != 5 {
			t.Errorf("%v exported %.2f spans a request, want 5", v, got)
		}
	}
	if r := c.Ratio(SemconvFloor, SDKFloor, AllocsPerReq); r.Min <= 1 {
		t.Errorf("SemconvFloor / SDKFloor allocations per request: %+v, want above 1 in every round", r)
	}
	var md bytes.Buffer
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	md.WriteString("\nOverhead over Uninstrumented, compared with OTelStack's, per round, min / **median** / max:\n\n| build | CPU/req | allocs/req | p50 |\n|---|---|---|---|\n")
	for _, v := range []Variant{SDKFloor, SemconvFloor, CtxtrailDefaults} {
		fmt.Fprintf(&md, "| %v / OTelStack | %s | %s | %s |\n", v,
			c.Overhead(v, OTelStack, Uninstrumented, CPUPerReq).ratio(),
			c.Overhead(v, OTelStack, Uninstrumented, AllocsPerReq).ratio(),
			c.Overhead(v, OTelStack, Uninstrumented, P50).ratio())
	}
	fmt.Fprintf(&md, "| CtxtrailDefaults over SemconvFloor / OTelStack over SemconvFloor | %s | %s | %s |\n",
		c.Overhead(CtxtrailDefaults, OTelStack, SemconvFloor, CPUPerReq).ratio(),
		c.Overhead(CtxtrailDefaults, OTelStack, SemconvFloor, AllocsPerReq).ratio(),
		c.Overhead(CtxtrailDefaults, OTelStack, SemconvFloor, P50).ratio())
	saveTables(t, &md, *flagFloorOut)
}

// SemconvFloor writes what CtxtrailDefaults writes: the same attribute keys on every span kind,
// the same response headers and log line keys. Otherwise it would not be ctxtrail's floor.
func TestSemconvFloorMatchesCtxtrail(t *testing.T) {
	type output struct {
		keys    map[string]map[attribute.Key]bool // span kind -> attribute keys
		headers []string
		logKeys map[string]bool
	}
	run := func(v Variant) output {
		exp := tracetest.NewInMemoryExporter()
		logs := new(lockedBuffer)
		s, err := Start(v, WithExporter(exp), WithLogWriter(logs))
		if err != nil {
			t.Fatal(err)
		}
		defer closeService(t, s)
		g := NewGenerator(1)
		defer g.Close()
		req, _ := http.NewRequest(http.MethodGet, s.URL(), nil)
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		req.Header.Set("X-Request-Id", "req-1")
		resp, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := output{keys: map[string]map[attribute.Key]bool{}, logKeys: map[string]bool{}}
		for _, sp := range exp.GetSpans() {
			k := sp.SpanKind.String()
			if out.keys[k] == nil {
				out.keys[k] = map[attribute.Key]bool{}
			}
			for _, kv := range sp.Attributes {
				out.keys[k][kv.Key] = true
			}
		}
		for h := range resp.Header {
			if strings.HasPrefix(h, "X-") {
				out.headers = append(out.headers, h)
			}
		}
		sort.Strings(out.headers)
		for _, l := range logs.lines(t) {
			for k := range l {
				out.logKeys[k] = true
			}
		}
		return out
	}
	want, got := run(CtxtrailDefaults), run(SemconvFloor)
	if !reflect.DeepEqual(got.keys, want.keys) {
		t.Errorf("span attributes:\nSemconvFloor     %v\nCtxtrailDefaults %v", got.keys, want.keys)
	}
	if !reflect.DeepEqual(got.headers, want.headers) {
		t.Errorf("response headers: SemconvFloor %v, CtxtrailDefaults %v", got.headers, want.headers)
	}
	for k := range want.logKeys {
		if !got.logKeys[k] {
			t.Errorf("log lines lack %q", k)
		}
	}
}
