package trail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Middleware returns NewHandler as a function, for routers that chain middleware.
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	cfg := newConfig(opts)
	return func(next http.Handler) http.Handler { return newHandler(next, cfg) }
}

// NewHandler wraps next so that each request runs with a fresh trail (Start with opts) in its
// context, and so that a panic in next is
//
//  1. recovered and captured (CapturePanic) with the request's breadcrumbs, its stack starting
//     where the panic was raised;
//  2. recorded on the span in the request's context as an exception event, status Error;
//  3. answered with 500 Internal Server Error when next has not yet sent its response
//     headers. When it has, a 500 can no longer be sent and a normal end would pass a cut
//     response off as whole, so the handler aborts the response by panicking with
//     http.ErrAbortHandler, which net/http turns into a closed connection without a log line.
//
// Either way the server goes on serving. http.ErrAbortHandler raised by next is let through
// untouched. Put NewHandler inside httpctx.NewHandler, so that the server span, the request ID
// and the request store are in the context it captures from; when next is a ServeMux,
// httpctx.NewHandler sees its pattern through NewHandler, so the span is named by its route
// from its start and reports carry http.route:
//
//	handler := httpctx.NewHandler(trail.NewHandler(app, trail.WithSink(sink)))
func NewHandler(next http.Handler, opts ...Option) http.Handler {
	return newHandler(next, newConfig(opts))
}

func newHandler(next http.Handler, cfg *config) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return &handler{next: next, cfg: cfg}
}

type handler struct {
	next http.Handler
	cfg  *config
}

// request is what the handler keeps for one request, in one allocation: the trail, the response
// writer wrapper, and the context node that carries the trail to next (in place of a
// context.WithValue entry).
type request struct {
	context.Context
	trail Trail
	rw    responseWriter
}

func (q *request) Value(key any) any {
	if key == (any)(trailKey{}) {
		return &q.trail
	}
	return q.Context.Value(key)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{Context: r.Context(), trail: Trail{cfg: h.cfg}, rw: responseWriter{ResponseWriter: w}}
	ctx, rw := context.Context(q), &q.rw
	r2 := r.WithContext(ctx)
	defer func() {
		// A ServeMux inside sets the matched pattern on the request it was given, our copy. Hand
		// it back, panic or not, so the tracing middleware outside can name its span after the
		// route.
		if r.Pattern == "" {
			r.Pattern = r2.Pattern
		}
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
			panic(v)
		}
		CapturePanic(ctx, v) // called here, in the deferred function, for the panic's stack
		if rw.wroteHeader || rw.hijacked {
			panic(http.ErrAbortHandler)
		}
		http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}()
	h.next.ServeHTTP(rw, r2)
}

// Handler returns, for httpctx.NewHandler outside, the pattern a ServeMux inside would match
// (ServeMux's Handler method, passed on), so that the server span is named by its route from
// its start and error reports carry http.route. The handler returned is h itself.
func (h *handler) Handler(r *http.Request) (http.Handler, string) {
	if f, ok := h.next.(interface {
		Handler(*http.Request) (http.Handler, string)
	}); ok {
		_, pattern := f.Handler(r)
		return h, pattern
	}
	return h, ""
}

// responseWriter notes whether the final response headers have gone out. It forwards Flush,
// Hijack and ReadFrom and unwraps for http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	wroteHeader bool
	hijacked    bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.wroteHeader = true // other 1xx are interim: the final status can still follow
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// WriteString keeps the underlying writer's string path: io.WriteString through the wrapper
// does not copy the string into a new byte slice.
func (w *responseWriter) WriteString(s string) (int, error) {
	w.wroteHeader = true
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom keeps the sendfile path of the underlying writer.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wroteHeader = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// Flush sends the headers and any buffered data when the underlying writer can.
func (w *responseWriter) Flush() {
	if err := http.NewResponseController(w.ResponseWriter).Flush(); err == nil {
		w.wroteHeader = true
	}
}

// Hijack hands the connection over when the underlying writer can.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("trail: hijack: %w", err)
	}
	w.hijacked = true
	return conn, rw, nil
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
