package requestpath

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// EvidenceVariants returns the variants of issue 30's labels comparison, in run order: the
// defaults build, and the same with spans/evidence's profile labels armed.
func EvidenceVariants() []Variant {
	return []Variant{CtxtrailDefaults, CtxtrailLabels}
}

// FlightVariants returns the variants of issue 30's flight recorder comparison: the runtime's
// recorder, started by CtxtrailFlight's Recorder, runs under both, so their ratio is ctxtrail's
// share on top of the runtime's.
func FlightVariants() []Variant {
	return []Variant{CtxtrailDefaults, CtxtrailFlight}
}

// buildCtxtrailEvidence is CtxtrailDefaults with an evidence.Recorder's middleware inside
// httpctx.NewHandler, where a user places it: labels armed on both services, or the flight
// recorder armed (threshold one hour: nothing is captured) on the front service only (one
// recorder a process).
func (s *Service) buildCtxtrailEvidence(cfg config, backURL string, flight bool) (front, down http.Handler, err error) {
	opt := evidence.WithProfileLabels()
	if flight {
		opt = evidence.WithFlightRecorder(time.Hour)
	}
	rec, err := evidence.New(opt)
	if err != nil {
		return nil, nil, fmt.Errorf("requestpath: evidence: %w", err)
	}
	s.shutdown = append(s.shutdown, rec.Shutdown)
	if flight {
		s.inner = func(h http.Handler) http.Handler {
			if _, ok := h.(http.HandlerFunc); ok { // the downstream service
				return h
			}
			return rec.Middleware(h)
		}
	} else {
		s.inner = rec.Middleware
	}
	return s.buildCtxtrailWith(cfg, backURL, false, false)
}
