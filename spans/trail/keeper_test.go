package trail

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// keeperSpan is a recording span that is not the SDK's: it keeps the event options it is handed,
// without copying, and reads them only when asked.
type keeperSpan struct {
	embedded.Span
	events [][]trace.EventOption
}

func (s *keeperSpan) AddEvent(_ string, opts ...trace.EventOption) { s.events = append(s.events, opts) }
func (*keeperSpan) SpanContext() trace.SpanContext                 { return trace.SpanContext{} }
func (*keeperSpan) IsRecording() bool                              { return true }
func (*keeperSpan) End(...trace.SpanEndOption)                     {}
func (*keeperSpan) AddLink(trace.Link)                             {}
func (*keeperSpan) RecordError(error, ...trace.EventOption)        {}
func (*keeperSpan) SetStatus(codes.Code, string)                   {}
func (*keeperSpan) SetName(string)                                 {}
func (*keeperSpan) SetAttributes(...attribute.KeyValue)            {}
func (*keeperSpan) TracerProvider() trace.TracerProvider           { return nil }

// A breadcrumb's event on a span that keeps its options reads its own message later, after more
// breadcrumbs (issue 28, goal 6: pooled buffers only for spans known to copy).
func TestBreadcrumbEventsOnSpanThatKeepsOptions(t *testing.T) {
	s := &keeperSpan{}
	ctx := trace.ContextWithSpan(context.Background(), s)
	msgs := []string{"first", "second", "third"}
	for _, m := range msgs {
		AddBreadcrumb(ctx, m, attribute.String("step", m))
	}
	if len(s.events) != len(msgs) {
		t.Fatalf("%d events, want %d", len(s.events), len(msgs))
	}
	for i, opts := range s.events {
		cfg := trace.NewEventConfig(opts...)
		got := map[attribute.Key]string{}
		for _, kv := range cfg.Attributes() {
			got[kv.Key] = kv.Value.Emit()
		}
		if got[MessageKey] != msgs[i] || got["step"] != msgs[i] {
			t.Errorf("event %d reads %v, want message and step %q", i, got, msgs[i])
		}
	}
}
