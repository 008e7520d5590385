package reliability

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// full runs the load test at the size (100,000 requests at 256 concurrency) instead of
// the CI size. CTXTRAIL_RELIABILITY_FULL=1 does the same.
var full = flag.Bool("reliability.full", false, "run the full-size load test (100,000 requests × 256)")

// loadRequests and loadConcurrency size the isolation load test between the CI size and the
// full one; .ci/run uses them for a pass at 256 concurrency that takes a minute or two.
var (
	loadRequests    = flag.Int("reliability.requests", 0, "requests of the isolation load test (0: 3,000, or 100,000 with -reliability.full)")
	loadConcurrency = flag.Int("reliability.concurrency", 0, "concurrency of the isolation load test (0: 64, or 256 with -reliability.full)")
)

func fullRun() bool { return *full || os.Getenv("CTXTRAIL_RELIABILITY_FULL") == "1" }

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
