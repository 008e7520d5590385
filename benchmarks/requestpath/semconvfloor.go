package requestpath

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// SemconvFloor (buildFloor with semconv set) is SDKFloor with ctxtrail's output written by hand,
// the plainest way (issue 19's measured floor for the CPU goal): the server spans carry the
// attributes otelctx's do (the HTTP conventions' sampling attributes at start; the connection's,
// the request ID, the body size and the status at the end), the client span otelctx's five and
// its status, x-trace-id and x-span-id go out beside traceparent, x-trace-id is echoed with
// x-request-id, and the log lines carry trace_id, span_id and request_id (hex-encoded per line)
// and the request's method and path, as ctxtrail's request store puts them there. It is what any
// instrumentation with ctxtrail's output pays on this SDK; CtxtrailDefaults over it is what
// ctxtrail's own machinery costs.

// semconvServer is floorServer with otelctx's attributes and x-trace-id echo.
func semconvServer(tr trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := floorProp.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		host, port, _ := net.SplitHostPort(r.Host)
		peer, peerPort, _ := net.SplitHostPort(r.RemoteAddr)
		pp, _ := strconv.Atoi(peerPort)
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"),
			attribute.String("server.address", host),
			attribute.String("user_agent.original", r.UserAgent()),
		}
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
		attrs = append(attrs, attribute.String("client.address", peer))
		ctx, span := tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		w.Header().Set("X-Trace-Id", span.SpanContext().TraceID().String())
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		ctx = context.WithValue(ctx, requestInfoKey{}, &requestInfo{method: r.Method, path: r.URL.Path})
		next.ServeHTTP(cw, r.WithContext(ctx))
		id := w.Header().Get("X-Request-Id") // what requestIDs, inside, settled on
		span.SetAttributes(
			attribute.String("network.peer.address", peer), attribute.Int("network.peer.port", pp),
			attribute.String("network.protocol.version", "1.1"), attribute.String("ctxtrail.request_id", id),
			attribute.Int64("http.response.body.size", cw.written),
			attribute.Int("http.response.status_code", cw.status))
		span.End()
	})
}

type countingWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *countingWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// semconvTransport is floorTransport with otelctx's client attributes and x-headers.
type semconvTransport struct {
	tracer trace.Tracer
	base   http.RoundTripper
}

func (t semconvTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	port, _ := strconv.Atoi(r.URL.Port())
	ctx, span := t.tracer.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("server.address", r.URL.Hostname()),
		attribute.Int("server.port", port),
		attribute.String("url.full", r.URL.String()),
		attribute.String("ctxtrail.request_id", r.Header.Get("X-Request-Id")),
	))
	defer span.End()
	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	floorProp.Inject(ctx, propagation.HeaderCarrier(r2.Header))
	sc := span.SpanContext()
	r2.Header.Set("X-Trace-Id", sc.TraceID().String())
	r2.Header.Set("X-Span-Id", sc.SpanID().String())
	resp, err := t.base.RoundTrip(r2)
	if err == nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	return resp, err
}

// requestInfo is what the log lines take from the request, as ctxtrail's request store holds it.
type requestInfo struct{ method, path string }

type requestInfoKey struct{}

// idFields are the IDs and request fields a log line carries, encoded for the line.
func idFields(ctx context.Context) [5]zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	id, _ := ctx.Value(requestIDKey{}).(string)
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	if ri == nil {
		ri = &requestInfo{}
	}
	return [5]zap.Field{zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String()),
		zap.String("request_id", id), zap.String("http.request.method", ri.method), zap.String("url.path", ri.path)}
}
