package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Context isolation under load: every log line, breadcrumb, outgoing header and exported span
// carries its own request's IDs; work on a goroutine not handed the request's context carries
// none; requests without IDs get fresh ones even on a reused keep-alive connection.
func TestIsolationUnderLoad(t *testing.T) {
	n, conc, limit := 3000, 64, 90*time.Second
	if fullRun() {
		n, conc, limit = 100_000, 256, 15*time.Minute
	}
	if *loadRequests > 0 {
		n, limit = *loadRequests, max(limit, time.Duration(*loadRequests)*9*time.Millisecond)
	}
	if *loadConcurrency > 0 {
		conc = *loadConcurrency
	}
	var b bleeds
	logs := &logCheck{b: &b}
	sc := newSpanCheck(&b)
	topo, err := startTopology(logs, ctxtrail.WithExporter(sc),
		ctxtrail.WithBatchOptions(sdktrace.WithMaxQueueSize(1<<14)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	res, loadErr := runLoad(ctx, topo, n, conc, &b)

	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := topo.close(sctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if loadErr != nil {
		t.Fatalf("load: %v (%d failed)", loadErr, res.failed)
	}

	// Every load trace holds exactly its request's spans, up to spans the exporters dropped.
	stats := []ctxtrail.Stats{topo.front.p.Stats(), topo.back.p.Stats()}
	var dropped uint64
	for _, s := range stats {
		dropped += s.Lost() + s.Queued
	}
	var missing, extra int
	sc.mu.Lock()
	for i := range n {
		if i%4 == 3 {
			continue
		}
		switch c := sc.counts[traceIDFor(i)]; {
		case c < spansPerRequest:
			missing += spansPerRequest - c
		case c > spansPerRequest:
			extra += c - spansPerRequest
			b.add(&b.spans, "trace of request %d has %d spans, want %d", i, c, spansPerRequest)
		}
	}
	sc.mu.Unlock()
	if uint64(missing) > dropped {
		t.Errorf("%d spans of load traces missing, but only %d counted lost", missing, dropped)
	}
	if got := b.total(); got != 0 {
		t.Errorf("bleed count %d (logs %d, spans %d, headers %d, breadcrumbs %d, detached %d, fresh %d); first: %q",
			got, b.logs.Load(), b.spans.Load(), b.headers.Load(), b.crumbs.Load(), b.detached.Load(), b.fresh.Load(), b.first)
	}
	wantLines := int64(n * 4) // front.start, detached, back.echo, front.done
	if logs.lines.Load() != wantLines {
		t.Errorf("checked %d log lines, want %d", logs.lines.Load(), wantLines)
	}
	if want := int64(n * spansPerRequest); sc.total.Load()+int64(dropped) != want {
		t.Errorf("exported %d spans + %d lost, want %d", sc.total.Load(), dropped, want)
	}
	t.Logf("RESULT isolation requests=%d concurrency=%d bleed=%d log_lines=%d spans=%d lost=%d p50=%v p99=%v peak_heap=%s elapsed=%v",
		res.requests, conc, b.total(), logs.lines.Load(), sc.total.Load(), dropped,
		res.percentile(0.50), res.percentile(0.99), mib(res.peakHeap), res.elapsed.Round(time.Millisecond))
}
