package spans

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A section's links reach the page only when they stay within the service: this page's
// waterfall of a trace, or a path on the same host. Anything else is shown as text.
func TestMonitorSectionLinks(t *testing.T) {
	const trace = "?trace=0123456789abcdef0123456789abcdef"
	links := map[string]string{
		trace:                          trace,
		"/debug/evidence?id=c-42":      "/debug/evidence?id=c-42",
		"/":                            "/",
		"javascript:alert(1)":          "",
		"//evil.example/x":             "",
		"https://evil.example/":        "",
		"/x\"><script>":                "",
		"?trace=0123":                  "",
		"?trace=" + "ZZ" + trace[9:]:   "",
		"/ok?next=http://evil.example": "",
		"data:text/html,hi":            "",
		"":                             "",
	}
	var rows, hrefs [][]string
	for in := range links {
		rows = append(rows, []string{in, "x"})
		hrefs = append(hrefs, []string{in}) // shorter than the row: the second cell has none
	}
	m := NewMonitor(WithMonitorSection("links", func() Table {
		return Table{Columns: []string{"href", "other"}, Rows: rows, Links: hrefs}
	}))
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/ctxtrail?format=json", nil))
	var page struct {
		Sections []struct {
			Rows  [][]string `json:"rows"`
			Links [][]string `json:"links"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatalf("%v: %s", err, rec.Body.Bytes())
	}
	if len(page.Sections) != 1 || len(page.Sections[0].Links) != len(rows) {
		t.Fatalf("sections = %+v, want one with %d rows of links", page.Sections, len(rows))
	}
	s := page.Sections[0]
	for i, r := range s.Rows {
		if len(s.Links[i]) != len(r) {
			t.Fatalf("row %d: %d links for %d cells", i, len(s.Links[i]), len(r))
		}
		if got, want := s.Links[i][0], links[r[0]]; got != want {
			t.Errorf("link %q: got %q, want %q", r[0], got, want)
		}
		if s.Links[i][1] != "" {
			t.Errorf("row %d: a cell given no link got %q", i, s.Links[i][1])
		}
	}
}
