package jaegerremote_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

// Every test checks that Provider.Shutdown stopped the poller: a goroutine left is a failure.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clearEnv empties every OTEL_* variable of the machine for one test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

// install runs ctxtrail.Install with Enable and WithoutGlobal, and shuts the Provider down when
// the test ends.
func install(t *testing.T, opts ...ctxtrail.Option) *ctxtrail.Provider {
	t.Helper()
	p, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{jaegerremote.Enable(), ctxtrail.WithoutGlobal()}, opts...)...)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

// errSink collects what an error handler is given.
type errSink struct {
	mu   sync.Mutex
	errs []error
}

func (s *errSink) sink(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *errSink) reports() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// find returns the first report containing substr, or nil.
func (s *errSink) find(substr string) error {
	for _, err := range s.reports() {
		if strings.Contains(err.Error(), substr) {
			return err
		}
	}
	return nil
}

// nameStats keys a Monitor's per-name rows by "name/kind".
func nameStats(st spans.Stats) map[string]spans.NameStats {
	out := make(map[string]spans.NameStats)
	for _, n := range st.ByName {
		kind := n.Kind.String()
		if n.Kind == trace.SpanKindUnspecified {
			kind = "unspecified"
		}
		out[fmt.Sprintf("%s/%s", n.Name, kind)] = n
	}
	return out
}
