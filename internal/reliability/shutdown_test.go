package reliability

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Graceful shutdown loses nothing: SIGTERM arrives while the services are under load; they stop
// taking requests, finish those in flight, flush, and the collector has every span that ended.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	col, err := NewCollector(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	var b bleeds
	topo, err := startTopology(&logCheck{b: &b}, ctxtrail.WithOTLP(col.URL()),
		ctxtrail.WithBatchOptions(sdktrace.WithMaxQueueSize(1<<15)))
	if err != nil {
		t.Fatal(err)
	}

	// What a service's main does: wait for SIGTERM, then drain and flush with a deadline.
	sig, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	closed := make(chan error, 1)
	go func() {
		<-sig.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- topo.close(ctx)
	}()

	const n = 100_000 // far more than can run before the signal: the load is cut by shutdown
	loadCtx, cancelLoad := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelLoad()
	loaded := make(chan loadResult, 1)
	go func() {
		res, _ := runLoad(loadCtx, topo, n, 32, &b) // errors after SIGTERM are expected
		loaded <- res
	}()
	deadline := time.Now().Add(time.Minute)
	for topo.front.p.Stats().Ended < 2000 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("close after SIGTERM: %v", err)
	}
	cancelLoad()
	res := <-loaded

	st := sum(topo.front.p.Stats(), topo.back.p.Stats())
	if st.Ended == 0 || st.Ended != uint64(col.Spans()) || st.Lost() != 0 || st.Queued != 0 {
		t.Errorf("spans ended %d, received %d; Stats %+v", st.Ended, col.Spans(), st)
	}
	if b.total() != 0 {
		t.Errorf("bleed count %d; first: %q", b.total(), b.first)
	}
	t.Logf("RESULT shutdown requests_sent=%d failed_after_sigterm=%d spans_ended=%d spans_received=%d lost=%d",
		res.requests, res.failed, st.Ended, col.Spans(), st.Lost())
}
