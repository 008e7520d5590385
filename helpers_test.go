package ctxtrail

import (
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

// errSink collects what an error handler or WarnLimiter reports.
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

// attrString renders an attribute set as "k=v,k=v" in the set's (sorted) order.
func attrString(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(parts, ",")
}
