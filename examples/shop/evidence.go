package shop

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/evidence"
	"go.opentelemetry.io/otel/metric"
)

// The frontend's three routes that show spans/evidence at work (README, "Why was this request
// slow"): one that sometimes waits on a lock, one that burns CPU, one that leaves a goroutine
// behind.
const (
	// ReindexHold is how long POST /inventory/reindex holds the stock lock that GET /inventory
	// takes: an /inventory request arriving meanwhile is slow, and its capture says "blocked".
	ReindexHold = 300 * time.Millisecond
	// InventorySlow is /inventory's flight recorder threshold in the demo's evidence options.
	InventorySlow = 100 * time.Millisecond
	// recommendRounds is the work of one GET /recommendations: some tens of milliseconds of CPU.
	recommendRounds = 400_000
)

// DemoEvidence are the evidence options the demo arms on the frontend: labels, the census of
// goroutines left behind (1 s grace, checked every 2 s), and the flight recorder (slow past 1 s,
// past InventorySlow for /inventory).
func DemoEvidence() []evidence.Option {
	return []evidence.Option{
		evidence.WithProfileLabels(),
		evidence.WithLeftBehind(time.Second, 2*time.Second),
		evidence.WithFlightRecorder(time.Second),
		evidence.WithRouteThreshold("/inventory", InventorySlow),
	}
}

// evidenceRoutes are the frontend's parts for the evidence routes.
type evidenceRoutes struct {
	rec *evidence.Recorder
	reg metric.Registration

	stock sync.Mutex
	items int

	tracking chan struct{} // closed by POST /track/flush (and Close): the tracked goroutines end
	trackMu  sync.Mutex
	tracked  sync.WaitGroup
}

// NewRecorder makes the Recorder of the service cfg names from cfg.Evidence: nil for orders and
// payments (the runtime allows one flight recorder a process). Make it before NewTelemetry and
// pass ctxtrail.WithSpanExportHold(rec) there, so the captured requests' server spans carry
// their breakdown; then put it in cfg.Recorder.
func NewRecorder(cfg Config) (*evidence.Recorder, error) {
	if cfg.Service != Frontend {
		return nil, nil
	}
	return evidence.New(cfg.Evidence...)
}

func newEvidenceRoutes(mux *http.ServeMux, rec *evidence.Recorder, opts []evidence.Option, mp metric.MeterProvider) (*evidenceRoutes, error) {
	if rec == nil {
		var err error
		if rec, err = evidence.New(opts...); err != nil {
			return nil, err
		}
	}
	// ctxtrail.goroutine.left_behind and the captures' count, next to the service's other metrics.
	reg, err := rec.RegisterMetrics(mp)
	if err != nil {
		_ = rec.Shutdown(context.Background())
		return nil, err
	}
	e := &evidenceRoutes{rec: rec, reg: reg, items: 42, tracking: make(chan struct{})}
	mux.HandleFunc("GET /inventory", e.inventory)
	mux.HandleFunc("POST /inventory/reindex", e.reindex)
	mux.HandleFunc("GET /recommendations", e.recommendations)
	mux.HandleFunc("GET /track", e.track)
	mux.HandleFunc("POST /track/flush", e.flush)
	mux.Handle("GET /debug/evidence", rec.CapturesHandler())
	return e, nil
}

// inventory reads the stock under its lock: quick, unless a reindex holds the lock.
func (e *evidenceRoutes) inventory(w http.ResponseWriter, r *http.Request) {
	e.stock.Lock()
	n := e.items
	e.stock.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"items": n})
}

// reindex holds the stock lock for ReindexHold, as a rebuild of the stock index would.
func (e *evidenceRoutes) reindex(w http.ResponseWriter, r *http.Request) {
	e.stock.Lock()
	time.Sleep(ReindexHold)
	e.items++
	e.stock.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// recommendations scores the catalogue: pure CPU, the route a CPU profile sliced by route
// shows on top.
func (e *evidenceRoutes) recommendations(w http.ResponseWriter, r *http.Request) {
	h := fnv.New64a()
	var sum uint64
	buf := []byte("book pen laptop")
	for i := range recommendRounds {
		buf[0] = byte(i)
		h.Reset()
		_, _ = h.Write(buf)
		sum += h.Sum64() & 0xff
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"score": sum})
}

// track starts a goroutine that flushes a tracking event "later" and forgets to stop: it
// outlives the request, waiting until POST /track/flush. The census counts it under /track.
func (e *evidenceRoutes) track(w http.ResponseWriter, r *http.Request) {
	e.trackMu.Lock()
	ch := e.tracking
	e.trackMu.Unlock()
	e.tracked.Go(func() { trackingFlusher(ch) })
	w.WriteHeader(http.StatusAccepted)
}

// trackingFlusher is the goroutine /track leaves behind.
func trackingFlusher(flush <-chan struct{}) { <-flush }

// flush ends the goroutines /track left behind.
func (e *evidenceRoutes) flush(w http.ResponseWriter, r *http.Request) {
	e.release()
	w.WriteHeader(http.StatusNoContent)
}

func (e *evidenceRoutes) release() {
	e.trackMu.Lock()
	close(e.tracking)
	e.tracking = make(chan struct{})
	e.trackMu.Unlock()
}

// close ends the tracked goroutines and the Recorder.
func (e *evidenceRoutes) close(ctx context.Context) error {
	e.release()
	e.tracked.Wait()
	return errors.Join(e.reg.Unregister(), e.rec.Shutdown(ctx))
}

// Evidence returns the frontend's Recorder (nil for the other services).
func (s *Service) Evidence() *evidence.Recorder {
	if s.ev == nil {
		return nil
	}
	return s.ev.rec
}
