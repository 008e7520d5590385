package spans_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The latency table: one row per route of the requests (local root spans) the monitor saw
// end, with percentiles over the last minute and the example requests kept for their
// waterfalls; another package's panel joins the page and its JSON through WithMonitorSection.
func ExampleMonitor_Latency() {
	mon := spans.NewMonitor(spans.WithMonitorSection("queues", func() spans.Table {
		return spans.Table{Columns: []string{"queue", "depth"}, Rows: [][]string{{"emails", "3"}}}
	}))
	ctx := context.Background()
	p, err := ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(mon), ctxtrail.WithoutExporter(), ctxtrail.WithoutGlobal())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Shutdown(ctx)
	tracer := p.TracerProvider().Tracer("example")
	end := time.Now()
	for i, d := range []time.Duration{2, 3, 4, 5, 90} {
		_, s := tracer.Start(ctx, "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(end.Add(-d*time.Millisecond)))
		if i == 4 {
			s.SetStatus(codes.Error, "timeout")
		}
		s.End(trace.WithTimestamp(end))
	}
	for _, r := range mon.Latency(false) {
		fmt.Printf("%s: %d requests, %d failed, p50 %v, p99 %v, impact %.0f%%, %d examples\n", r.Name, r.Requests,
			r.Errors, r.P50.Round(100*time.Microsecond), r.P99.Round(10*time.Millisecond), 100*r.Impact, len(r.Examples))
	}

	w := httptest.NewRecorder()
	mon.ServeHTTP(w, httptest.NewRequest("GET", "/debug/ctxtrail?format=json", nil))
	var page struct {
		Sections []struct {
			Name string     `json:"name"`
			Rows [][]string `json:"rows"`
		} `json:"sections"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &page)
	fmt.Println(page.Sections[0].Name, page.Sections[0].Rows)
	// Output:
	// GET /items/{id}: 5 requests, 1 failed, p50 4ms, p99 90ms, impact 100%, 4 examples
	// queues [[emails 3]]
}
