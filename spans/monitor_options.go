package spans

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// EnvJaegerUI names the environment variable that gives the Monitor a Jaeger UI to link trace IDs
// to, when WithJaegerUI does not: its base URL, such as http://127.0.0.1:16686.
const EnvJaegerUI = "CTXTRAIL_JAEGER_UI_URL"

// WithoutLatency turns off the latency table, its example requests and the ring of recent spans
// they are found in: the Monitor then counts and lists spans only, as it did before, at a
// little less cost per span (benchmarks/results/monitor.md).
func WithoutLatency() MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.noLatency = true; return c })
}

// WithMaxRoutes caps the rows of the latency table (DefaultMaxRoutes; n < 1 keeps the default).
// Each row holds about 70 KiB of histograms; the requests of routes seen past the cap are
// counted together in the "(other)" row.
func WithMaxRoutes(n int) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.maxRoutes = n; return c })
}

// WithRecentSpans sets how many ended spans the Monitor remembers (DefaultRecentSpans; n < 1
// keeps the default), where it looks for the spans of an example request when the request
// ends. A request whose first spans ended more than n spans before its root misses them.
func WithRecentSpans(n int) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.recentSpans = n; return c })
}

// WithKeptTraces sets how many example requests keep their spans for the waterfall
// (DefaultKeptTraces, each up to 128 spans; n < 1 keeps the default). Failed and slow
// requests push out fast ones first.
func WithKeptTraces(n int) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig { c.keptTraces = n; return c })
}

// WithJaegerUI links the trace IDs on the page to a Jaeger UI at base (such as
// "http://127.0.0.1:16686"; its /trace/<id> page). Without it, the CTXTRAIL_JAEGER_UI_URL
// environment variable is read; "" there or here means no links. A base that is not an http or
// https URL is not linked, and the page says why.
func WithJaegerUI(base string) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig {
		c.jaegerUI, c.jaegerSet = base, true
		return c
	})
}

func latencyDefaults(c monitorConfig) monitorConfig {
	if c.maxRoutes < 1 {
		c.maxRoutes = DefaultMaxRoutes
	}
	if c.recentSpans < 1 {
		c.recentSpans = DefaultRecentSpans
	}
	if c.keptTraces < 1 {
		c.keptTraces = DefaultKeptTraces
	}
	if !c.jaegerSet {
		c.jaegerUI = strings.TrimSpace(os.Getenv(EnvJaegerUI))
	}
	return c
}

// jaegerBase checks the configured Jaeger UI: the base to link to, or why there is none.
func jaegerBase(raw string, fromOption bool) (base string, problem string) {
	if raw == "" {
		return "", ""
	}
	setting := EnvJaegerUI + "=" + fmt.Sprintf("%q", raw)
	if fromOption {
		setting = fmt.Sprintf("spans.WithJaegerUI(%q)", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", setting + ": want an http or https URL such as http://127.0.0.1:16686; trace IDs are not linked"
	}
	return strings.TrimRight(u.String(), "/"), ""
}
