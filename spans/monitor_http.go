package spans

import (
	"bytes"
	_ "embed" // the page template
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultPageLimit is how many active spans ServeHTTP lists unless ?limit= says otherwise.
const DefaultPageLimit = 100

//go:embed monitor.tmpl.html
var pageSource string

// pageData is what ServeHTTP serves, as JSON and to the template.
type pageData struct {
	Stats  statsView    `json:"stats"`
	Export *exportView  `json:"export,omitempty"` // after the spans ended; see SetExportStats
	Limit  int          `json:"limit"`
	Active []activeView `json:"active"`
	Leaks  []activeView `json:"leaks"`

	Latency       *latencyView  `json:"latency,omitempty"` // nil WithoutLatency
	Runtime       runtimeView   `json:"runtime"`
	Sections      []sectionView `json:"sections"`
	JaegerUI      string        `json:"jaeger_ui,omitempty"`
	JaegerProblem string        `json:"jaeger_ui_problem,omitempty"`
}

type countsView struct {
	Created    uint64 `json:"created"`
	Ended      uint64 `json:"ended"`
	Active     int64  `json:"active"`
	SampledOut uint64 `json:"sampled_out"`
}

type kindView struct {
	Kind string `json:"kind"`
	countsView
}

type nameView struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Other     bool   `json:"other,omitempty"`
	Untracked bool   `json:"untracked,omitempty"`
	countsView
}

type statsView struct {
	Time time.Time `json:"time"`
	countsView
	Tracked         int        `json:"tracked"`
	MaxTracked      int        `json:"max_tracked"`
	Overflow        uint64     `json:"overflow"`
	Leaks           int        `json:"leaks"`
	LeaksReported   uint64     `json:"leaks_reported"`
	LeakThresholdMS float64    `json:"leak_threshold_ms"`
	LeakThreshold   string     `json:"-"`
	ByKind          []kindView `json:"by_kind"`
	ByName          []nameView `json:"by_name"`
}

type activeView struct {
	TraceID      string    `json:"trace_id"`
	SpanID       string    `json:"span_id"`
	ParentSpanID string    `json:"parent_span_id,omitempty"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Start        time.Time `json:"start"`
	AgeMS        float64   `json:"age_ms"`
	Age          string    `json:"-"`
	Leak         bool      `json:"leak"`
}

func viewCounts(c Counts) countsView { return countsView(c) }

func kindName(k trace.SpanKind) string {
	if k == trace.SpanKindUnspecified {
		return "unspecified"
	}
	return k.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pageData gathers the page. The active spans of the trace self (the request reading the page,
// when it is traced) are left out of the lists, so the page never lists its own request as
// active; the counts still include them.
func (m *Monitor) pageData(limit int, self trace.TraceID) pageData {
	st := m.Stats()
	d := pageData{
		Limit: limit,
		Stats: statsView{
			Time:            st.Time,
			countsView:      viewCounts(st.Counts),
			Tracked:         st.Tracked,
			MaxTracked:      st.MaxTracked,
			Overflow:        st.Overflow,
			Leaks:           st.Leaks,
			LeaksReported:   st.LeaksReported,
			LeakThresholdMS: ms(st.LeakThreshold),
			LeakThreshold:   st.LeakThreshold.String(),
			ByKind:          make([]kindView, 0, len(st.ByKind)),
			ByName:          make([]nameView, 0, len(st.ByName)),
		},
		Export:        m.exportView(),
		Active:        []activeView{},
		Leaks:         []activeView{},
		Runtime:       m.rt.read(st.Time),
		Sections:      m.sectionViews(),
		JaegerUI:      m.jaeger,
		JaegerProblem: m.jaegerWhy,
	}
	if m.lat != nil {
		d.Latency = m.latencyView(st)
	}
	for _, k := range st.ByKind {
		d.Stats.ByKind = append(d.Stats.ByKind, kindView{Kind: kindName(k.Kind), countsView: viewCounts(k.Counts)})
	}
	for _, n := range st.ByName {
		kind := kindName(n.Kind)
		if n.Other {
			kind = ""
		}
		d.Stats.ByName = append(d.Stats.ByName, nameView{Name: n.Name, Kind: kind, Other: n.Other, Untracked: n.Untracked, countsView: viewCounts(n.Counts)})
	}
	for _, a := range m.ActiveSpans(limit) {
		if self.IsValid() && a.TraceID == self {
			continue
		}
		v := activeView{
			TraceID: a.TraceID.String(), SpanID: a.SpanID.String(), Name: a.Name, Kind: kindName(a.Kind),
			Start: a.Start, AgeMS: ms(a.Age), Age: a.Age.Round(time.Millisecond).String(), Leak: a.Leak,
		}
		if a.ParentSpanID.IsValid() {
			v.ParentSpanID = a.ParentSpanID.String()
		}
		d.Active = append(d.Active, v)
		if a.Leak {
			d.Leaks = append(d.Leaks, v)
		}
	}
	return d
}

// ServeHTTP serves the monitor: an HTML page by default, JSON with ?format=json or an Accept
// header that asks for application/json and not text/html. ?limit=n sets how many active spans
// are listed, oldest first (DefaultPageLimit; at most the tracked cap). Only GET and HEAD are
// allowed. Mount it on an internal port: span names can say more than the public should know.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "spans monitor: method "+r.Method+" not allowed; use GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if q.Has("trace") {
		m.serveTrace(w, r, q.Get("trace"))
		return
	}
	limit := DefaultPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, fmt.Sprintf("spans monitor: limit=%q: want a positive integer", v), http.StatusBadRequest)
			return
		}
		limit = n
	}
	limit = min(limit, m.cfg.maxTracked)

	var asJSON bool
	switch f := q.Get("format"); f {
	case "json":
		asJSON = true
	case "html":
	case "":
		accept := r.Header.Get("Accept")
		asJSON = strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
	default:
		http.Error(w, fmt.Sprintf("spans monitor: format=%q: want json or html", f), http.StatusBadRequest)
		return
	}

	data := m.pageData(limit, trace.SpanContextFromContext(r.Context()).TraceID())
	var buf bytes.Buffer
	if asJSON {
		if err := json.NewEncoder(&buf).Encode(data); err != nil {
			http.Error(w, "spans monitor: encoding JSON: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
	} else {
		page, err := m.template()
		if err == nil {
			err = page.Execute(&buf, htmlPage{pageData: data, Initial: data})
		}
		if err != nil {
			http.Error(w, "spans monitor: rendering page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// htmlPage is what the template gets: the data, and the same again for the script's first
// drawing (html/template writes it as JSON, escaped for a script element).
type htmlPage struct {
	pageData
	Initial pageData
}

// template parses the page once per Monitor; html/template escapes span names, which come
// from code and sometimes from requests.
func (m *Monitor) template() (*template.Template, error) {
	m.pageOnce.Do(func() {
		m.page, m.pageErr = template.New("monitor").Parse(pageSource)
	})
	return m.page, m.pageErr
}
