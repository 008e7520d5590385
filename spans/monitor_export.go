package spans

import "github.com/ctxtrail/ctxtrail/otelctx"

// SetExportStats makes the monitor's page and JSON show what happened to the spans after they
// ended: exported, dropped because the export queue was full, lost in failed exports, still
// queued. otelctx.Install calls it with the Provider's Stats for a Monitor given to
// otelctx.WithSpanProcessor, so a monitor installed that way needs nothing more. Call it
// yourself for a monitor registered another way, with the Stats of the Provider that exports
// its spans; the Monitor is created before Install returns the Provider, hence a setter rather
// than an option:
//
//	mon := spans.NewMonitor()
//	p, err := otelctx.Install(ctx, otelctx.WithSpanProcessor(mon)) // export stats wired
//
// A nil fn removes the section. Safe to call at any time; the last call wins.
func (m *Monitor) SetExportStats(fn func() otelctx.Stats) {
	if fn == nil {
		m.exportStats.Store(nil)
		return
	}
	m.exportStats.Store(&fn)
}

// exportView is the export section of the page and the JSON.
type exportView struct {
	Ended         uint64 `json:"ended"`
	Exported      uint64 `json:"exported"`
	Dropped       uint64 `json:"dropped"`
	Failed        uint64 `json:"failed"`
	FailedExports uint64 `json:"failed_exports"`
	Queued        uint64 `json:"queued"`
}

func (m *Monitor) exportView() *exportView {
	fn := m.exportStats.Load()
	if fn == nil {
		return nil
	}
	v := exportView((*fn)())
	return &v
}
