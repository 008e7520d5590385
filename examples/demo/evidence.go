package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// showEvidence exercises the frontend's three evidence routes and prints what spans/evidence
// found: CPU by route, the capture of a request that waited on a lock, the goroutines a route
// left behind.
func showEvidence(ctx context.Context, out io.Writer, local *shop.Local, client *http.Client) error {
	rec := local.Frontend().Evidence()
	base := local.URL[shop.Frontend]
	do := func(method, path string) error {
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.Body.Close()
	}
	fmt.Fprintln(out, "── evidence: why were requests slow? (spans/evidence, armed on the frontend)")

	// 1. CPU by route: a CPU profile while /recommendations, /inventory and /track run.
	var prof bytes.Buffer
	profiling := pprof.StartCPUProfile(&prof) == nil
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for range 2 {
		wg.Go(func() {
			for range 8 {
				for _, p := range []string{"/recommendations", "/inventory"} {
					if err := do("GET", p); err != nil {
						errMu.Lock()
						firstErr = err
						errMu.Unlock()
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if profiling {
		pprof.StopCPUProfile()
	}
	if firstErr != nil {
		return firstErr
	}
	if profiling {
		printCPUByRoute(out, &prof)
	} else {
		fmt.Fprintln(out, "CPU by route: skipped, another CPU profile is running in this process")
	}

	// 2. A request that waits on a lock: /inventory while a reindex holds the stock lock.
	var capture *evidence.CaptureInfo
	for attempt := 0; attempt < 3 && capture == nil; attempt++ {
		done := make(chan error, 1)
		go func() { done <- do("POST", "/inventory/reindex") }()
		time.Sleep(shop.ReindexHold / 4)
		if err := do("GET", "/inventory"); err != nil {
			return err
		}
		if err := <-done; err != nil {
			return err
		}
		capture = waitCapture(ctx, rec, "/inventory", 10*time.Second)
	}
	if capture == nil || capture.Breakdown == nil {
		fmt.Fprintln(out, "Slow request: no /inventory capture (the reindex never overlapped it)")
	} else {
		b := capture.Breakdown
		fmt.Fprintf(out, "Slow request: GET %s took %v (over its %v threshold): capture %s\n",
			capture.Route, capture.Duration.Round(time.Millisecond), shop.InventorySlow, capture.ID)
		fmt.Fprintf(out, "  blocked on locks/channels %.1fms · running %.1fms · waiting to run %.1fms · syscalls/network %.1fms · GC assist %.1fms\n",
			b.BlockedMs, b.RunningMs, b.RunnableMs, b.SyscallMs, b.GCAssistMs)
		fmt.Fprintf(out, "  its server span has %s=%s; exporters behind WithSpanExportHold get the breakdown on it, the terminal waterfall on its child span %q; example trace %s\n",
			evidence.AttrCaptureID, capture.ID, evidence.EvidenceSpanName, capture.TraceID)
		fmt.Fprintf(out, "  the execution trace: curl -o %s.trace '%s/debug/evidence?id=%s' && go tool trace %s.trace\n",
			capture.ID, base, capture.ID, capture.ID)
	}

	// 3. Goroutines left behind: three /track requests, each leaving one.
	for range 3 {
		if err := do("GET", "/track"); err != nil {
			return err
		}
	}
	rec.CensusNow() // the census sees the requests finished...
	select {        // ...and counts their goroutines once the grace has passed
	case <-time.After(time.Second + 100*time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	rec.CensusNow()
	for _, lb := range rec.Snapshot().Routes {
		if lb.Count == 0 {
			continue
		}
		fmt.Fprintf(out, "Left behind: %s has %d goroutines still running after its requests ended (started in %s); example trace %s\n",
			lb.Route, lb.Count, lb.Started, lb.ExampleTraceID)
	}
	fmt.Fprintln(out, "  (ctxtrail.goroutine.left_behind{route} exports the count; POST /track/flush ends them)")
	fmt.Fprintln(out)
	return nil
}

// printCPUByRoute prints each route's share of the labelled CPU samples, with an example trace.
func printCPUByRoute(out io.Writer, prof *bytes.Buffer) {
	p, err := profile.Parse(prof)
	if err != nil {
		fmt.Fprintf(out, "CPU by route: reading the profile: %v\n", err)
		return
	}
	byRoute := map[string]int64{}
	example := map[string]string{}
	var total int64
	for _, s := range p.Sample {
		r := s.Label[evidence.LabelRoute]
		if len(r) != 1 {
			continue
		}
		byRoute[r[0]] += s.Value[1]
		total += s.Value[1]
		if tid := s.Label[evidence.LabelTraceID]; len(tid) == 1 && example[r[0]] == "" {
			example[r[0]] = tid[0]
		}
	}
	routes := make([]string, 0, len(byRoute))
	for r := range byRoute {
		routes = append(routes, r)
	}
	sort.Slice(routes, func(i, j int) bool { return byRoute[routes[i]] > byRoute[routes[j]] })
	fmt.Fprintln(out, "CPU by route (a CPU profile sliced by the pprof label \"route\"):")
	for _, r := range routes {
		fmt.Fprintf(out, "  %-18s %3.0f%%  %v  example trace %s\n", r, 100*float64(byRoute[r])/float64(total),
			time.Duration(byRoute[r]).Round(time.Millisecond), example[r])
	}
}

// waitCapture returns the first finished capture of route, or nil after timeout.
func waitCapture(ctx context.Context, rec *evidence.Recorder, route string, timeout time.Duration) *evidence.CaptureInfo {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, c := range rec.Snapshot().Captures {
			if c.Route == route && c.State != "pending" {
				return &c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
