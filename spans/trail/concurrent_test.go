package trail

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/attribute"
)

// TestConcurrentRequests is the acceptance test: 500 requests in flight at once on a
// real loopback server, each adding its own crumbs (one from a spans.Go task) and then
// failing, half by returning a captured error and half by panicking, give 500 reports, each
// carrying only its own request's crumbs, request id, trace id and user id.
func TestConcurrentRequests(t *testing.T) {
	const n = 500
	var (
		arrived    atomic.Int32
		allArrived = make(chan struct{})
	)

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.URL.Query().Get("n")
		ctx = AddFields(ctx, attribute.String("user.id", "user-"+id))
		AddBreadcrumb(ctx, "start "+id)
		if arrived.Add(1) == n {
			close(allArrived)
		}
		// Every request waits here until all 500 are in flight, so their trails live, and
		// take crumbs, at the same time.
		select {
		case <-allArrived:
		case <-time.After(time.Minute):
			t.Error("the 500 requests were never in flight together")
		}
		task := spans.Go(ctx, "task", func(ctx context.Context) error {
			AddBreadcrumb(ctx, "task "+id)
			return nil
		})
		if err := task.Wait(); err != nil {
			t.Error(err)
		}
		AddBreadcrumb(ctx, "end "+id)
		var i int
		_, _ = fmt.Sscan(id, &i)
		if i%2 == 1 {
			panic("boom " + id)
		}
		Capture(ctx, fmt.Errorf("request %s failed", id))
		http.Error(w, "failed", http.StatusInternalServerError)
	})
	srv, _, sink := newServer(t, app)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	t.Cleanup(client.CloseIdleConnections)

	traceID := func(i int) string { return fmt.Sprintf("%032x", 0xabc000+i) }
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/work?n=%d", srv.URL, i), nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("X-Request-Id", fmt.Sprint("req-", i))
			req.Header.Set("Traceparent", fmt.Sprintf("00-%s-00f067aa0ba902b7-01", traceID(i)))
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("X-Request-Id") != fmt.Sprint("req-", i) {
				t.Errorf("request %d: %d, x-request-id %q", i, resp.StatusCode, resp.Header.Get("X-Request-Id"))
			}
		})
	}
	wg.Wait()

	reports := sink.Reports()
	if len(reports) != n {
		t.Fatalf("%d reports, want %d", len(reports), n)
	}
	seen := make(map[string]bool, n)
	for _, r := range reports {
		var i int
		if _, err := fmt.Sscanf(r.RequestID, "req-%d", &i); err != nil || seen[r.RequestID] {
			t.Fatalf("report with request id %q (repeated: %v)", r.RequestID, seen[r.RequestID])
		}
		seen[r.RequestID] = true
		want := []string{fmt.Sprint("start ", i), fmt.Sprint("task ", i), fmt.Sprint("end ", i)}
		if got := messages(r.Breadcrumbs); !slices.Equal(got, want) {
			t.Errorf("%s: crumbs %v, want %v", r.RequestID, got, want)
		}
		if r.TraceID != traceID(i) {
			t.Errorf("%s: trace id %s, want %s", r.RequestID, r.TraceID, traceID(i))
		}
		if !slices.Contains(r.Context, attribute.String("user.id", fmt.Sprint("user-", i))) {
			t.Errorf("%s: context %v, want its own user.id", r.RequestID, r.Context)
		}
		wantMsg, wantPanic := fmt.Sprintf("request %d failed", i), false
		if i%2 == 1 {
			wantMsg, wantPanic = fmt.Sprint("panic: boom ", i), true
		}
		if r.Message != wantMsg || r.Panic != wantPanic {
			t.Errorf("%s: message %q panic %v, want %q %v", r.RequestID, r.Message, r.Panic, wantMsg, wantPanic)
		}
	}
}
