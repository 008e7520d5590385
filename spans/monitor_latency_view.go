package spans

import (
	"time"

	"github.com/ctxtrail/ctxtrail/internal/latency"
	"go.opentelemetry.io/otel/trace"
)

// latencyView is the latency table as the page and the JSON give it. Durations are in
// milliseconds; rates per second; error rates and impact are fractions of 1.
type latencyView struct {
	BucketEdgesMS []float64   `json:"bucket_edges_ms"`
	Routes        int         `json:"routes_tracked"`
	MaxRoutes     int         `json:"max_routes"`
	Late          uint64      `json:"late"` // durations that ended before their window
	Rows          []routeView `json:"rows"`
}

type routeView struct {
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Other    bool          `json:"other,omitempty"`
	InFlight int64         `json:"in_flight"`
	Short    windowView    `json:"1m"`
	Long     windowView    `json:"10m"`
	Examples []exampleView `json:"examples"`
}

type windowView struct {
	Requests     uint64   `json:"requests"`
	Errors       uint64   `json:"errors"`
	Rate         float64  `json:"rate"`
	ErrorRate    float64  `json:"error_rate"`
	P50MS        float64  `json:"p50_ms"`
	P95MS        float64  `json:"p95_ms"`
	P99MS        float64  `json:"p99_ms"`
	TotalMS      float64  `json:"total_ms"`
	Impact       float64  `json:"impact"`
	CoveredS     float64  `json:"covered_s"`
	Buckets      []uint64 `json:"buckets"`
	BucketErrors []uint64 `json:"bucket_errors"`
}

type exampleView struct {
	Bucket     int       `json:"bucket"`
	TraceID    string    `json:"trace_id"`
	SpanID     string    `json:"span_id"`
	DurationMS float64   `json:"duration_ms"`
	Error      bool      `json:"error,omitempty"`
	End        time.Time `json:"end"`
	Href       string    `json:"href"`             // the waterfall, relative to the monitor's page
	Jaeger     string    `json:"jaeger,omitempty"` // the trace in the Jaeger UI, when configured
}

func viewWindow(r RouteLatency) windowView {
	v := windowView{
		Requests: r.Requests, Errors: r.Errors, Rate: r.Rate,
		P50MS: ms(r.P50), P95MS: ms(r.P95), P99MS: ms(r.P99),
		TotalMS: ms(r.Total), Impact: r.Impact, CoveredS: r.Covered.Seconds(),
		Buckets: r.Buckets[:], BucketErrors: r.BucketErrors[:],
	}
	if r.Requests > 0 {
		v.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	return v
}

func (m *Monitor) latencyView(st Stats) *latencyView {
	now := st.Time
	short, long := m.latencyAt(now, false, true), m.latencyAt(now, true, false) // examples once
	v := &latencyView{MaxRoutes: m.cfg.maxRoutes, Routes: len(*m.lat.routes.Load()), Late: m.lat.late.Load(),
		Rows: make([]routeView, 0, len(short))}
	for _, e := range latency.CoarseEdges {
		v.BucketEdgesMS = append(v.BucketEdgesMS, ms(e))
	}
	inFlight := make(map[routeKey]int64)
	for _, n := range st.ByName {
		if n.Active > 0 && !n.Untracked {
			inFlight[routeKey{n.Name, uint8(n.Kind)}] += n.Active
		}
	}
	longOf := make(map[routeKey]RouteLatency, len(long))
	for _, r := range long {
		longOf[routeKey{r.Name, uint8(r.Kind)}] = r
	}
	for _, r := range short {
		k := routeKey{r.Name, uint8(r.Kind)}
		row := routeView{Name: r.Name, Kind: kindName(r.Kind), Other: r.Other, Short: viewWindow(r),
			Long: viewWindow(longOf[k]), Examples: make([]exampleView, 0, len(r.Examples))}
		if r.Other {
			row.Kind = ""
		} else {
			row.InFlight = inFlight[k]
		}
		for _, e := range r.Examples {
			ev := exampleView{Bucket: e.Bucket, TraceID: e.TraceID.String(), SpanID: e.SpanID.String(),
				DurationMS: ms(e.Duration), Error: e.Failed, End: e.End, Href: "?trace=" + e.TraceID.String()}
			if m.jaeger != "" {
				ev.Jaeger = m.jaeger + "/trace/" + ev.TraceID
			}
			row.Examples = append(row.Examples, ev)
		}
		v.Rows = append(v.Rows, row)
		delete(inFlight, k)
	}
	// "(other)" may have requests in the long window only.
	if o, ok := longOf[m.lat.other.key]; ok && (len(short) == 0 || !short[len(short)-1].Other) {
		empty := windowView{Buckets: make([]uint64, latency.NumCoarse), BucketErrors: make([]uint64, latency.NumCoarse)}
		v.Rows = append(v.Rows, routeView{Name: o.Name, Other: true, Short: empty, Long: viewWindow(o), Examples: []exampleView{}})
	}
	// A route whose requests are all still running (a hung endpoint) has no row yet: show it
	// by its server spans in flight, as many as the row cap leaves room for.
	room := m.cfg.maxRoutes - v.Routes
	for _, n := range st.ByName {
		k := routeKey{n.Name, uint8(n.Kind)}
		if n.Kind != trace.SpanKindServer || n.Other || inFlight[k] == 0 || room <= 0 {
			continue
		}
		room--
		empty := windowView{Buckets: make([]uint64, latency.NumCoarse), BucketErrors: make([]uint64, latency.NumCoarse)}
		v.Rows = append(v.Rows, routeView{Name: n.Name, Kind: kindName(n.Kind), InFlight: inFlight[k],
			Short: empty, Long: empty, Examples: []exampleView{}})
		delete(inFlight, k)
	}
	return v
}
