package requestpath

import (
	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
)

// MonitorVariants returns the variants of the monitor comparison (issue 29), in run order: the
// defaults, then with a spans.Monitor without its latency table (the monitor as it was), then
// with it (the default Monitor). The page is never read: its cost to the request path idle.
func MonitorVariants() []Variant {
	return []Variant{Uninstrumented, CtxtrailDefaults, CtxtrailMonitorOff, CtxtrailMonitor}
}

func monitorVariantName(v Variant) string {
	if v == CtxtrailMonitorOff {
		return "CtxtrailMonitorOff"
	}
	return "CtxtrailMonitor"
}

// monitorOptions gives the monitor variants their Monitor, registered as a user would.
func (s *Service) monitorOptions() []ctxtrail.Option {
	switch s.variant {
	case CtxtrailMonitorOff:
		s.monitor = spans.NewMonitor(spans.WithoutLatency())
	case CtxtrailMonitor:
		s.monitor = spans.NewMonitor()
	default:
		return nil
	}
	return []ctxtrail.Option{ctxtrail.WithSpanProcessor(s.monitor)}
}
