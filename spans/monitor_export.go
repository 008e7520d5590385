package spans

import "github.com/ctxtrail/ctxtrail/internal/exportstats"

// SetExportStats makes the monitor's page and JSON show what happened to the spans after they
// ended: exported, dropped because the export queue was full, lost in failed exports, still
// queued. ctxtrail.Install calls it with the Provider's Stats for a Monitor given to
// ctxtrail.WithSpanProcessor, so a monitor installed that way needs nothing more:
//
//	mon := spans.NewMonitor()
//	p, err := ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(mon)) // export stats wired
//
// Call it yourself for a monitor registered another way, with the stats of the pipeline that
// exports its spans (ctxtrail's Stats converts: spans.ExportStats(p.Stats())). A nil fn removes
// the section. Safe to call at any time; the last call wins.
func (m *Monitor) SetExportStats(fn func() ExportStats) {
	if fn == nil {
		m.exportStats.Store(nil)
		return
	}
	m.exportStats.Store(&fn)
}

// ExportStats is what happened to the spans after they ended, as an exporting pipeline counts
// it: Ended, Exported, Dropped (export queue full), Failed (in exports that returned an error),
// FailedExports and Queued. ctxtrail.Stats has the same fields and converts to it.
type ExportStats = exportstats.Stats

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
