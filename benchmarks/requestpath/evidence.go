package requestpath

import (
	"fmt"
	"net/http"

	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// EvidenceVariants returns the variants of issue 30's comparison, in run order: the defaults
// build, and the same with spans/evidence's profile labels armed.
func EvidenceVariants() []Variant {
	return []Variant{CtxtrailDefaults, CtxtrailLabels}
}

// buildCtxtrailLabels is CtxtrailDefaults with an evidence.Recorder's middleware (labels armed)
// inside httpctx.NewHandler on both services, where a user places it.
func (s *Service) buildCtxtrailLabels(cfg config, backURL string) (front, down http.Handler, err error) {
	rec, err := evidence.New(evidence.WithProfileLabels())
	if err != nil {
		return nil, nil, fmt.Errorf("requestpath: evidence: %w", err)
	}
	s.shutdown = append(s.shutdown, rec.Shutdown)
	s.inner = rec.Middleware
	return s.buildCtxtrailWith(cfg, backURL, false, false)
}
