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

func fullRun() bool { return *full || os.Getenv("CTXTRAIL_RELIABILITY_FULL") == "1" }

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
