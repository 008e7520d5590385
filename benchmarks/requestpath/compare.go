package requestpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Comparison holds the samples of an interleaved run: Rounds[r][i] is variant Variants[i] in
// round r.
type Comparison struct {
	Load     Load
	Variants []Variant
	Rounds   [][]Sample
	Spans    map[Variant]uint64 // spans exported during the measured rounds
}

// MaxRounds bounds Compare's rounds.
const MaxRounds = 1000

// Compare starts every variant, warms each up with warmup requests, then runs rounds rounds
// of l against each variant in turn (ABCD ABCD ...), and stops them all.
func Compare(ctx context.Context, l Load, rounds, warmup int, variants ...Variant) (c Comparison, err error) {
	if err := l.check(); err != nil {
		return Comparison{}, err
	}
	if rounds < 1 || rounds > MaxRounds {
		return Comparison{}, fmt.Errorf("%w: rounds %d not in [1, %d]", ErrLoad, rounds, MaxRounds)
	}
	if len(variants) == 0 {
		variants = Variants()
	}
	c = Comparison{Load: l, Variants: slices.Clone(variants), Spans: make(map[Variant]uint64)}
	svcs := make([]*Service, 0, len(variants))
	exps := make([]*DiscardExporter, 0, len(variants))
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, s := range svcs {
			err = errors.Join(err, s.Close(cctx))
		}
	}()
	for _, v := range variants {
		e := new(DiscardExporter)
		s, err := Start(v, WithExporter(e))
		if err != nil {
			return c, err
		}
		svcs, exps = append(svcs, s), append(exps, e)
	}
	g := NewGenerator(l.Concurrency)
	defer g.Close()
	if warmup > 0 {
		wl := l
		wl.Requests = min(warmup, MaxRequests)
		for _, s := range svcs {
			if _, err := g.Run(ctx, s, wl); err != nil {
				return c, fmt.Errorf("requestpath: warm-up: %w", err)
			}
		}
	}
	before := make([]uint64, len(exps))
	for i, e := range exps {
		before[i] = e.Spans()
	}
	for range rounds {
		row := make([]Sample, 0, len(svcs))
		for _, s := range svcs {
			sm, err := g.Run(ctx, s, l)
			if err != nil {
				return c, err
			}
			row = append(row, sm)
		}
		c.Rounds = append(c.Rounds, row)
	}
	for i, e := range exps {
		c.Spans[variants[i]] = e.Spans() - before[i]
	}
	return c, nil
}

// Summary is the minimum, median and maximum of a figure over the rounds.
type Summary struct{ Min, Median, Max float64 }

func summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Summary{Min: s[0], Median: mid, Max: s[len(s)-1]}
}

func (c Comparison) index(v Variant) int { return slices.Index(c.Variants, v) }

// Absolute summarizes metric m of variant v over the rounds.
func (c Comparison) Absolute(v Variant, m Metric) Summary {
	i := c.index(v)
	if i < 0 {
		return Summary{}
	}
	xs := make([]float64, 0, len(c.Rounds))
	for _, row := range c.Rounds {
		xs = append(xs, row[i].Value(m))
	}
	return summarize(xs)
}

// Ratio summarizes, over the rounds, metric m of v divided by m of base in the same round.
// Rounds where base measured zero are left out.
func (c Comparison) Ratio(v, base Variant, m Metric) Summary {
	i, j := c.index(v), c.index(base)
	if i < 0 || j < 0 {
		return Summary{}
	}
	xs := make([]float64, 0, len(c.Rounds))
	for _, row := range c.Rounds {
		if b := row[j].Value(m); b != 0 {
			xs = append(xs, row[i].Value(m)/b)
		}
	}
	return summarize(xs)
}

// Difference summarizes, over the rounds, metric m of v minus m of base in the same round.
func (c Comparison) Difference(v, base Variant, m Metric) Summary {
	i, j := c.index(v), c.index(base)
	if i < 0 || j < 0 {
		return Summary{}
	}
	xs := make([]float64, 0, len(c.Rounds))
	for _, row := range c.Rounds {
		xs = append(xs, row[i].Value(m)-row[j].Value(m))
	}
	return summarize(xs)
}

// Overhead summarizes, over the rounds, what v adds to base's metric m divided by what other
// adds: (v-base)/(other-base), the instrumentation's own cost compared, without the load
// generator and the network that every variant shares.
func (c Comparison) Overhead(v, other, base Variant, m Metric) Summary {
	i, j, k := c.index(v), c.index(other), c.index(base)
	if i < 0 || j < 0 || k < 0 {
		return Summary{}
	}
	xs := make([]float64, 0, len(c.Rounds))
	for _, row := range c.Rounds {
		b := row[k].Value(m)
		if d := row[j].Value(m) - b; d != 0 {
			xs = append(xs, (row[i].Value(m)-b)/d)
		}
	}
	return summarize(xs)
}

// Errors returns the failed requests and the runs the time cap ended, over all samples.
func (c Comparison) Errors() (failed, capped int) {
	for _, row := range c.Rounds {
		for _, s := range row {
			failed += s.Errors
			if s.Capped {
				capped++
			}
		}
	}
	return failed, capped
}

func (s Summary) ratio() string {
	return fmt.Sprintf("%.2f / **%.2f** / %.2f", s.Min, s.Median, s.Max)
}

func absolute(m Metric, x float64) string {
	switch m {
	case ReqPerSec:
		return fmt.Sprintf("%.0f", x)
	case P50, P99, CPUPerReq:
		return time.Duration(x).Round(time.Microsecond).String()
	}
	return fmt.Sprintf("%.0f", x)
}

// Markdown writes the comparison as markdown tables: ratios to the first variant (min / median
// / max over the rounds), the medians themselves, and the head-to-head ratios of the goals.
func (c Comparison) Markdown(w io.Writer) error {
	if len(c.Variants) == 0 || len(c.Rounds) == 0 {
		return fmt.Errorf("%w: empty comparison", ErrLoad)
	}
	var b strings.Builder
	base := c.Variants[0]
	failed, capped := c.Errors()
	fmt.Fprintf(&b, "%d rounds × %d requests per variant, %d connections, time cap %v; %d failed requests, %d capped runs.\n\n",
		len(c.Rounds), c.Load.Requests, c.Load.Concurrency, c.Load.TimeCap, failed, capped)

	fmt.Fprintf(&b, "Ratio to %v in the same round, min / **median** / max:\n\n| variant |", base)
	for _, m := range Metrics() {
		fmt.Fprintf(&b, " %v |", m)
	}
	b.WriteString(" spans/req |\n|---|")
	for range Metrics() {
		b.WriteString("---|")
	}
	b.WriteString("---:|\n")
	for _, v := range c.Variants {
		fmt.Fprintf(&b, "| %v |", v)
		for _, m := range Metrics() {
			fmt.Fprintf(&b, " %s |", c.Ratio(v, base, m).ratio())
		}
		fmt.Fprintf(&b, " %.2f |\n", c.spansPerRequest(v))
	}

	b.WriteString("\nMedians (absolute):\n\n| variant |")
	for _, m := range Metrics() {
		fmt.Fprintf(&b, " %v |", m)
	}
	b.WriteString("\n|---|")
	for range Metrics() {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, v := range c.Variants {
		fmt.Fprintf(&b, "| %v |", v)
		for _, m := range Metrics() {
			fmt.Fprintf(&b, " %s |", absolute(m, c.Absolute(v, m).Median))
		}
		b.WriteString("\n")
	}

	if c.index(CtxtrailDefaults) >= 0 && c.index(OTelStack) >= 0 {
		b.WriteString("\nHead to head, per round, min / **median** / max:\n\n| comparison | CPU/req | allocs/req | p50 | p99 | req/s |\n|---|---|---|---|---|---|\n")
		row := func(label string, f func(Metric) Summary) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", label,
				f(CPUPerReq).ratio(), f(AllocsPerReq).ratio(), f(P50).ratio(), f(P99).ratio(), f(ReqPerSec).ratio())
		}
		row("CtxtrailDefaults / OTelStack", func(m Metric) Summary { return c.Ratio(CtxtrailDefaults, OTelStack, m) })
		if c.index(base) >= 0 && base != CtxtrailDefaults {
			row(fmt.Sprintf("overhead over %v: CtxtrailDefaults / OTelStack", base),
				func(m Metric) Summary { return c.Overhead(CtxtrailDefaults, OTelStack, base, m) })
		}
		if c.index(CtxtrailOTelLogs) >= 0 {
			row("like for like, logs to OTel on both sides: CtxtrailOTelLogs / OTelStack",
				func(m Metric) Summary { return c.Ratio(CtxtrailOTelLogs, OTelStack, m) })
		}
		if c.index(SDKFloor) >= 0 {
			row("overhead over SDKFloor: CtxtrailDefaults / OTelStack",
				func(m Metric) Summary { return c.Overhead(CtxtrailDefaults, OTelStack, SDKFloor, m) })
		}
		if c.index(CtxtrailLoaded) >= 0 {
			row("CtxtrailLoaded / CtxtrailDefaults", func(m Metric) Summary { return c.Ratio(CtxtrailLoaded, CtxtrailDefaults, m) })
			row("CtxtrailLoaded / OTelStack", func(m Metric) Summary { return c.Ratio(CtxtrailLoaded, OTelStack, m) })
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c Comparison) spansPerRequest(v Variant) float64 {
	var n int
	if i := c.index(v); i >= 0 {
		for _, row := range c.Rounds {
			n += row[i].Requests
		}
	}
	if n == 0 {
		return 0
	}
	return float64(c.Spans[v]) / float64(n)
}
