package trailzap

import (
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.uber.org/goleak"
)

// LogSink runs a goroutine: every test must stop the sinks it starts.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// messages returns the crumbs' messages, in order.
func messages(bs []trail.Breadcrumb) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Message
	}
	return out
}
