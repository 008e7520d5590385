package spans

import "fmt"

// Table is a section another package adds to the Monitor's page (WithMonitorSection): a title's
// worth of columns and rows of text, shown as an HTML table (escaped, never run) and given as is
// in the JSON. Note, when set, is shown above the table.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	Note    string     `json:"note,omitempty"`
}

// Bounds of a section, so a careless one cannot swamp the page.
const (
	maxSectionRows = 500
	maxSectionCols = 32
)

type section struct {
	name string
	fn   func() Table
}

// WithMonitorSection adds a section named name to the Monitor's page and JSON (under
// "sections"), filled by fn at each refresh, about once a second while a page is open. fn runs
// on the page's request, never on the span path; it must be safe for concurrent use and quick. A
// panic in fn is recovered and shown as the section's note; tables are cut to 500 rows and 32
// columns. Sections appear in the order given.
//
//	mon := spans.NewMonitor(spans.WithMonitorSection("goroutines left behind", func() spans.Table {
//		return spans.Table{Columns: []string{"route", "goroutines"}, Rows: [][]string{{"GET /x", "3"}}}
//	}))
func WithMonitorSection(name string, fn func() Table) MonitorOption {
	return monitorOptionFunc(func(c monitorConfig) monitorConfig {
		if fn != nil {
			c.sections = append(c.sections[:len(c.sections):len(c.sections)], section{name: name, fn: fn})
		}
		return c
	})
}

// sectionView is a section as the page and the JSON show it.
type sectionView struct {
	Name string `json:"name"`
	Table
}

func (m *Monitor) sectionViews() []sectionView {
	out := make([]sectionView, 0, len(m.sections))
	for _, s := range m.sections {
		out = append(out, sectionView{Name: s.name, Table: runSection(s.fn)})
	}
	return out
}

func runSection(fn func() Table) (t Table) {
	defer func() {
		if p := recover(); p != nil {
			t = Table{Note: fmt.Sprintf("this section's func panicked: %v", p)}
		}
	}()
	t = fn()
	if len(t.Columns) > maxSectionCols {
		t.Columns = t.Columns[:maxSectionCols]
	}
	if len(t.Rows) > maxSectionRows {
		t.Note += fmt.Sprintf(" (first %d of %d rows)", maxSectionRows, len(t.Rows))
		t.Rows = t.Rows[:maxSectionRows]
	}
	rows := make([][]string, len(t.Rows)) // the caller's table stays as it was
	for i, r := range t.Rows {
		rows[i] = r[:min(len(r), maxSectionCols)]
	}
	t.Rows = rows
	return t
}
