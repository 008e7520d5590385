package spans

import "github.com/ctxtrail/ctxtrail"

// SetExportStats makes the monitor's page and JSON show what happened to the spans after they
// ended: exported, dropped because the export queue was full, lost in failed exports, still
// queued. Pass the Provider's Stats method; the Monitor is created before Install returns the
// Provider, hence a setter rather than an option:
//
//	mon := spans.NewMonitor()
//	p, err := ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(mon))
//	mon.SetExportStats(p.Stats)
//
// A nil fn removes the section. Safe to call at any time.
func (m *Monitor) SetExportStats(fn func() ctxtrail.Stats) {
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
