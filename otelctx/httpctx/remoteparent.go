package httpctx

import (
	"context"

	"github.com/ctxtrail/ctxtrail/internal/ctxkey"
	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// The remote parent of a server span without two allocations.
//
// propagation.TraceContext.Extract wraps the incoming span context in a non-recording span (one
// object) under a context.WithValue entry (another) only so that tracer.Start can read it back
// with trace.SpanFromContext. NewHandler's request node (serverreq.go) answers that lookup
// itself from a span context it holds, when it knows the key the trace package stores spans
// under. The key is unexported, so it is learned once, by asking trace.SpanFromContext which key
// it reads and checking that trace.ContextWithSpan stores under it; if either step ever fails
// (a future otel/trace changing how it keeps spans), spanKey is nil and NewHandler puts the
// parent in a context value as before.
var spanKey = learnSpanKey()

func learnSpanKey() any {
	key := ctxkey.Learn(func(ctx context.Context) { _ = trace.SpanFromContext(ctx) })
	if key == nil {
		return nil
	}
	if _, ours := key.(*reqstore.KeyID); ours {
		return nil
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)
	if s, ok := ctx.Value(key).(trace.Span); !ok || !s.SpanContext().Equal(sc) {
		return nil
	}
	return key
}

// remoteSpan is the incoming span context as a trace.Span: non-recording, all its methods no-ops
// but SpanContext, as the trace package's own wrapper is. It lives inside the request node, so
// handing it out costs nothing.
type remoteSpan struct {
	embedded.Span
	sc trace.SpanContext
}

var _ trace.Span = (*remoteSpan)(nil) // trace.SpanFromContext asserts it at run time

func (s *remoteSpan) SpanContext() trace.SpanContext        { return s.sc }
func (*remoteSpan) IsRecording() bool                       { return false }
func (*remoteSpan) End(...trace.SpanEndOption)              {}
func (*remoteSpan) AddEvent(string, ...trace.EventOption)   {}
func (*remoteSpan) AddLink(trace.Link)                      {}
func (*remoteSpan) RecordError(error, ...trace.EventOption) {}
func (*remoteSpan) SetStatus(codes.Code, string)            {}
func (*remoteSpan) SetName(string)                          {}
func (*remoteSpan) SetAttributes(...attribute.KeyValue)     {}
func (*remoteSpan) TracerProvider() trace.TracerProvider    { return noop.NewTracerProvider() }

// deprecatedNoopTracer is the tracer of trace.NewNoopTracerProvider, which keeps a parent only
// when it is the trace package's own non-recording span; under it NewHandler puts the parent in
// a context value, so that the trace still propagates.
var deprecatedNoopTracer = trace.NewNoopTracerProvider().Tracer("") //nolint:staticcheck // compared against, not used
