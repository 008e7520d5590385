// Package exportstats holds the one type that ctxtrail's Install and spans.Monitor share: what
// happened to the spans after they ended. Install hands a Monitor given to WithSpanProcessor a
// function returning it, so that spans never imports the installer (and the installer never
// compiles the monitor's page into every binary).
package exportstats

// Stats is what happened to the spans after they ended, as an exporting pipeline counts it.
// ctxtrail.Stats has the same fields and converts to it.
type Stats struct {
	Ended         uint64 // sampled spans that ended and were offered to an exporter
	Exported      uint64 // spans the exporter accepted
	Dropped       uint64 // spans refused because the export queue was full
	Failed        uint64 // spans carried by exports that returned an error
	FailedExports uint64 // exports that returned an error
	Queued        uint64 // spans waiting in the queue or being exported now
}
