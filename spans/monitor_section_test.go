package spans

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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

// AddSection puts a section on a Monitor already made, after those given to NewMonitor, and
// is safe beside page reads.
func TestMonitorAddSection(t *testing.T) {
	table := func(v string) func() Table {
		return func() Table { return Table{Columns: []string{"v"}, Rows: [][]string{{v}}} }
	}
	m := NewMonitor(WithMonitorSection("first", table("1")))
	done := make(chan struct{})
	go func() { // a page open while sections are added
		defer close(done)
		for range 100 {
			m.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?format=json", nil))
		}
	}()
	m.AddSection("second", table("2"))
	m.AddSection("nil", nil)
	m.AddSection("third", table("3"))
	<-done
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?format=json", nil))
	var page struct {
		Sections []struct {
			Name string     `json:"name"`
			Rows [][]string `json:"rows"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range page.Sections {
		got = append(got, s.Name+"="+s.Rows[0][0])
	}
	if want := "first=1 second=2 third=3"; strings.Join(got, " ") != want {
		t.Errorf("sections %q, want %s", got, want)
	}
	var zero *Monitor
	zero.AddSection("x", table("x")) // a nil Monitor ignores it
}
