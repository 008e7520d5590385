package httpctx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/ctxtrail/ctxtrail/otelctx/propagators"

	"github.com/ctxtrail/ctxtrail/internal/attrbuf"
	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

type transportConfig struct {
	httpConfig
	noKeepSignal bool // keep.go
}

// Transport is an http.RoundTripper that starts a client span for each request and injects the
// trace context, baggage and x-headers into the request's headers through the propagator. It
// also forwards the context's request ID as x-request-id when the propagator did not (when
// ValidRequestID accepts it), so the next service logs under the same ID.
//
// The span lasts until the response body is read to its end, fails or is closed (as otelhttp's
// client span does), or ends with the round trip when there is no body. It records http.request.method, server.address, server.port, url.full (without user info, query
// or fragment, which often carry credentials), AttrRequestID and http.response.status_code, and marks
// transport errors and 4xx/5xx responses as errors. The caller's request is never modified: the
// headers go on a shallow copy with cloned headers.
type Transport struct {
	base http.RoundTripper
	cfg  transportConfig
	urls urlCache
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport that sends through base (http.DefaultTransport when nil).
func NewTransport(base http.RoundTripper, opts ...TransportOption) *Transport {
	var c transportConfig
	for _, o := range opts {
		if o != nil {
			c = o.applyTransport(c)
		}
	}
	c.tracers, c.meters = new(tracerCache), new(httpMeters)
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, cfg: c}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.cfg.traced(r) {
		return t.base.RoundTrip(r)
	}
	tracer, copies := t.cfg.tracer()
	b := attrbuf.ForCopies(copies) // pooled when the tracer copies; back once the span has its end attributes
	method, known := normalizeMethod(r.Method)
	attrs := append(b.Attrs(), semconv.HTTPRequestMethodKey.String(method))
	if !known {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginalKey.String(reqstore.Bound(r.Method)))
	}
	if u := r.URL; u != nil {
		host := u.Hostname()
		attrs = append(attrs, semconv.ServerAddressKey.String(reqstore.Bound(host)))
		if port := portOf(u.Port(), u.Scheme); port > 0 {
			attrs = append(attrs, semconv.ServerPortKey.Int(port))
		}
		attrs = append(attrs, semconv.URLFullKey.String(t.urls.full(u)))
	}
	id := otelctx.RequestID(r.Context()) // the span below adds no request ID of its own
	validID := otelctx.ValidRequestID(id)
	if validID { // the x-request-id sent below
		attrs = append(attrs, attribute.String(otelctx.AttrRequestID, id))
	}
	name := method
	if t.cfg.spanName != nil {
		name = t.cfg.spanName(r)
	} else if !known {
		name = "HTTP"
	}
	opts := append(b.Start[:0], clientKindOption, b.WithAttributes(attrs))
	ctx, span := tracer.Start(r.Context(), name, opts...)

	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header, 4)
	}
	t.cfg.propagator().Inject(ctx, propagators.HeaderCarrier(r2.Header))
	if _, set := r2.Header["X-Request-Id"]; !set && validID {
		r2.Header["X-Request-Id"] = []string{id}
	}

	mrec := t.cfg.clientStart() // httpmetrics.go
	resp, err := t.base.RoundTrip(r2)
	t.cfg.clientEnd(ctx, mrec, r, method, resp, err)
	if !span.IsRecording() { // unsampled: nothing to record, no body to wait for
		b.Release()
		span.End()
		return resp, err
	}
	end := b.Attrs() // the span copied the start attributes
	if err != nil {
		span.SetStatus(codes.Error, reqstore.Bound(err.Error()))
		span.SetAttributes(append(end, semconv.ErrorTypeKey.String(errorType(err)))...)
		b.Release()
		span.End()
		return resp, err
	}
	end = append(end, semconv.HTTPResponseStatusCodeKey.Int(resp.StatusCode))
	if resp.StatusCode >= 400 {
		setErrorStatus(span, "")
		end = append(end, semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
	}
	end = t.keepSignal(end, span, resp) // keep.go
	span.SetAttributes(end...)
	b.Release() // a pooled buffer's span copied them
	// The call lasts until its body is read, as otelhttp's client span does: end the span at
	// EOF, a read error or Close, whichever comes first. A 101 body is the raw connection
	// (an io.ReadWriteCloser), so it is left unwrapped.
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		span.End()
		return resp, nil
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// spanBody ends the client span when the response body is finished with.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	done atomic.Bool
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.end()
	case err != nil:
		if b.done.CompareAndSwap(false, true) {
			b.span.RecordError(err)
			b.span.SetStatus(codes.Error, reqstore.Bound(err.Error()))
			b.span.End()
		}
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() {
	if b.done.CompareAndSwap(false, true) {
		b.span.End()
	}
}

// portOf returns the port of a URL, or the scheme's default, or 0.
func portOf(port, scheme string) int {
	if port != "" {
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
			return n
		}
		return 0
	}
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// errorType names a transport error for error.type: the low-cardinality classes the HTTP
// semantic conventions suggest rather than the message.
func errorType(err error) string {
	var te interface{ Timeout() bool }
	switch {
	case errors.As(err, &te) && te.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "_OTHER"
}
