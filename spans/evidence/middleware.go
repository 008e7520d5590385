package evidence

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/otelctx"
)

// Middleware returns next with the Recorder's evidence gathered for each request. Place it
// inside httpctx.NewHandler (httpctx.NewHandler(rec.Middleware(mux), ...)), where the server
// span and the route are known, and so that the capture's attributes land on the server span
// before it ends. With nothing armed it returns next itself.
//
// A request fails, for the flight recorder, when its status is 500 or more.
func (r *Recorder) Middleware(next http.Handler) http.Handler {
	if !r.armed() {
		return next
	}
	return &middleware{r: r, next: next}
}

type middleware struct {
	r    *Recorder
	next http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	q := Request{r: m.r, orig: ctx, span: trace.SpanFromContext(ctx), route: otelctx.Route(ctx)}
	lctx := m.r.begin(ctx, q.route, &q)
	if lctx != ctx {
		req = req.WithContext(lctx)
	}
	if m.r.flight == nil {
		defer q.End("", false)
		m.next.ServeHTTP(w, req)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() { q.End(otelctx.Route(ctx), sw.status >= 500) }()
	m.next.ServeHTTP(sw, req)
}

// statusWriter remembers the status of the response. Unwrap lets http.ResponseController reach
// the writer's other abilities; Flush and Hijack are forwarded for callers that assert them.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code // other 1xx are interim: the final status still follows
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// WriteString keeps the writer's string path: io.WriteString through the wrapper would copy
// the string into a new byte slice on every call.
func (s *statusWriter) WriteString(str string) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return io.WriteString(s.ResponseWriter, str)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ReadFrom keeps the writer's own ReadFrom (sendfile for net/http's) reachable through io.Copy.
func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return io.Copy(s.ResponseWriter, r)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Handler returns, for httpctx.NewHandler outside, the pattern a ServeMux inside would match
// (ServeMux's Handler method, passed on), so that the route is known when the request starts.
// The handler returned is the middleware itself.
func (m *middleware) Handler(r *http.Request) (http.Handler, string) {
	if f, ok := m.next.(interface {
		Handler(*http.Request) (http.Handler, string)
	}); ok {
		_, pattern := f.Handler(r)
		return m, pattern
	}
	return m, ""
}
