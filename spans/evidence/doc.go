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
// The server span is still open when the middleware learns that a request was slow, so it gets,
// before it ends, the capture's ID and reason (ctxtrail.capture.id, ctxtrail.capture.reason).
// The breakdown takes milliseconds to read, and neither the response nor the span's end may wait
// for it; only the span's export can. WrapProcessor wraps the processors that export (Install
// does it with ctxtrail.WithSpanExportHold(rec)): a captured request's server span, once ended,
// is held there until its capture is read, and the exporters then get it with the breakdown
// among its attributes (ctxtrail.runtime.running_ms, runnable_ms, blocked_ms, syscall_ms,
// gc_assist_ms, other_ms, goroutines). Every other span goes on at once, unchanged; OnEnd never
// blocks. The hold is bounded (WithSpanHold: DefaultHoldSpans spans at once, each at most
// DefaultHoldWait): past either bound the span goes on without the breakdown, counted
// (CaptureStats, ctxtrail.evidence.held_spans). Shutdown gives captures being read at most the
// wait, and at most half the time its context leaves, then sends what is still held, before the
// exporting processor behind it shuts down.
//
// Where the breakdown could not reach the server span (no hold in front of the exporters, or the
// span went on past a bound), it follows on a child span of the server span, "runtime evidence",
// spanning the request's window, with the same attributes: a service without the hold still
// finds the breakdown in its trace, and a service with it gets no duplicate. It is always in the
// capture's record (Snapshot) too.
//
// # The capture
//
// The capture itself, a runtime/trace file for go tool trace, is kept in a bounded store,
// served by CapturesHandler and optionally written to a directory. The file is the recorder's whole
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
