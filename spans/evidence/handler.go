package evidence

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// CapturesHandler serves the captures: without a query, the Snapshot as JSON; with ?id=ID, that
// capture's execution trace as a file for go tool trace (404 when it is unknown or no longer
// kept). Execution traces show the program's stacks: serve it where the monitor page is, on an
// internal port, not to the internet.
func (r *Recorder) CapturesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.URL.Query().Get("id")
		if id == "" {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(r.Snapshot())
			return
		}
		if r == nil || r.flight == nil {
			http.Error(w, "evidence: the flight recorder is not armed (WithFlightRecorder or CTXTRAIL_EVIDENCE=flight)", http.StatusNotFound)
			return
		}
		data, ok := r.flight.data(id)
		if !ok {
			http.Error(w, "evidence: no capture "+strconv.Quote(id)+" is kept (past the byte budget, evicted, or unknown)", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.trace"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
}
