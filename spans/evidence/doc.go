// Package evidence tells why a request was slow, from the runtime itself, and ties what it
// finds to the request's trace.
//
// # What it records
//
// A Recorder, placed inside httpctx.NewHandler with Middleware (or called through Begin by any
// other server), can do three things, each armed on its own and all off by default:
//
//   - Profiles by route (WithProfileLabels): each request's goroutine carries the pprof labels
//     "route", "trace_id" and "span_id", added to the labels already in the request's context
//     (never replacing one of them) and restored when the request ends. Goroutines the handler
//     starts, with go or spans.Go, inherit them. A CPU profile can then be sliced by route
//     (go tool pprof -tagfocus route=... or -tags), and each sample of a sampled request names
//     its trace (trace_id is left out when the trace is not sampled: there is none to find).
//     Labels keep to what external profilers read: at most 10 a goroutine, keys of at most 16
//     bytes, values of at most 48.
//   - Goroutines left behind (WithLeftBehind): a census, off the request path and at most once
//     per interval, reads the goroutine profile with its labels and counts, per route, the
//     goroutines still carrying the labels of a request that has finished, with their stack and
//     an example trace ID. Where the runtime has the goroutineleak profile (Go 1.27, or Go 1.26
//     with GOEXPERIMENT=goroutineleakprofile) its findings are counted per route too. Exported by
//     RegisterMetrics as ctxtrail.goroutine.left_behind (attribute route). Connection pools'
//     loops, which inherit the labels of the request that dialled, are not counted
//     (DefaultIgnore). The goroutineleak profile runs a garbage collection cycle of its own: where
//     it exists, each census pays one.
//   - A flight recorder for slow and failed requests (WithFlightRecorder): runtime/trace's
//     FlightRecorder keeps the last seconds of execution trace in memory. A request slower than
//     its threshold, or answered with a 5xx (an error for Begin), gets a capture: off the request
//     path, the trace is snapshotted and read with golang.org/x/exp/trace, cut to the request's
//     time window and goroutines (the request's own and those it started), and broken down into
//     running, runnable (waiting to run), blocked on locks or channels, in syscalls or the
//     network, GC assist and other waits, in milliseconds.
//
// # Where the breakdown goes
//
// The server span is still open when the middleware learns that a request was slow, but the
// breakdown takes milliseconds to compute and the response must not wait for it. So the server
// span gets, before it ends, the capture's ID and reason (ctxtrail.capture.id,
// ctxtrail.capture.reason); the breakdown follows asynchronously as a child span of the server
// span, "runtime evidence", spanning the request's window, with the figures as attributes
// (ctxtrail.runtime.running_ms and the rest), and in the capture's record (Snapshot). Holding the
// server span open until the reading is done would hold its export and, inside httpctx, the
// response; a span processor's OnEnd is too late for any attribute. The capture itself, a runtime/trace file for go tool trace, is kept in a bounded store, served by
// CapturesHandler and optionally written to a directory. The file is the recorder's whole
// snapshot (a few seconds, the request's window inside it): the breakdown is what is cut to the
// request's window and goroutines, and Breakdown.GoroutineIDs name them for go tool trace's
// goroutine view. Reading a capture costs about 18 ms of CPU per MiB of window, hence the 2 MiB
// default (WithRecorderWindow).
//
// # Other servers
//
// Begin labels the calling goroutine and returns the handler's context; Request.End, on the
// same goroutine and before the server span ends, restores the labels and decides the capture.
// gRPC interceptors or another router's middleware can call them where Middleware does not fit.
//
// # Budgets
//
// Captures past the budget (WithCaptureBudget: per minute, and bytes kept) are counted, not
// taken; the queue between requests and the capture worker is bounded and never blocks. The
// runtime allows one flight recorder per process: if the application already runs one, New
// returns an error wrapping ErrFlightRecorderInUse; pass that recorder with
// WithSharedFlightRecorder instead.
//
// # Environment
//
// CTXTRAIL_EVIDENCE arms what the options did not: a comma-separated list of "labels",
// "leftbehind", "flight" (or "all"). CTXTRAIL_EVIDENCE_SLOW sets the flight recorder's threshold
// (a Go duration, "500ms"); options win over both.
package evidence
