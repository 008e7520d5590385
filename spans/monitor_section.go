package spans

import (
	"fmt"
	"regexp"
)

// Table is a section another package adds to the Monitor's page (WithMonitorSection): a title's
// worth of columns and rows of text, shown as an HTML table (escaped, never run) and given as is
// in the JSON. Note, when set, is shown above the table.
//
// Links, when set, holds a link for each cell of Rows (same shape; "" for none). Only links
// within the service are kept: "?trace=" and a 32-digit trace ID (that request's waterfall on
// this page), or a path on the same host ("/debug/evidence?id=…", never "//host" or a
// scheme). Any other link is dropped and its cell shown as text, so a section cannot point the
// page elsewhere.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	Links   [][]string `json:"links,omitempty"`
	Note    string     `json:"note,omitempty"`
}

// sectionLink is what a section's link may be: this page's waterfall of one trace, or a path
// on this host. The page checks the same pattern before it makes an anchor.
var sectionLink = regexp.MustCompile(`^(\?trace=[0-9a-f]{32}|/[A-Za-z0-9_.~/-]*(\?[A-Za-z0-9_.~=&%-]*)?)$`)

// safeLink returns l when a section may link to it, else "".
func safeLink(l string) string {
	if len(l) > 512 || len(l) > 1 && l[1] == '/' || !sectionLink.MatchString(l) {
		return ""
	}
	return l
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

// AddSection adds a section to the page and the JSON after the Monitor is made, as
// WithMonitorSection does at NewMonitor: for a part built later than the Monitor (a recorder a
// service makes once its routes exist). Sections appear in the order added; a nil fn is ignored.
func (m *Monitor) AddSection(name string, fn func() Table) {
	if m == nil || fn == nil {
		return
	}
	for {
		old := m.sections.Load()
		var list []section
		if old != nil {
			list = (*old)[:len(*old):len(*old)]
		}
		list = append(list, section{name: name, fn: fn})
		if m.sections.CompareAndSwap(old, &list) {
			return
		}
	}
}

func (m *Monitor) sectionViews() []sectionView {
	var list []section
	if p := m.sections.Load(); p != nil {
		list = *p
	}
	out := make([]sectionView, 0, len(list))
	for _, s := range list {
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
	if t.Links != nil {
		links := make([][]string, len(rows)) // one per cell shown, checked
		for i, r := range rows {
			links[i] = make([]string, len(r))
			if i < len(t.Links) {
				for j := range r {
					if j < len(t.Links[i]) {
						links[i][j] = safeLink(t.Links[i][j])
					}
				}
			}
		}
		t.Links = links
	}
	return t
}
