package waterfall

import (
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span is what a waterfall needs of a span. IDs are hex strings, as every exporter and query
// API writes them, so spans read from JSON, Jaeger or the SDK all fit.
type Span struct {
	TraceID, SpanID, ParentID string
	Service, Name             string
	Kind                      trace.SpanKind
	Start, End                time.Time
	Error                     bool   // the span's status is Error
	StatusMessage             string // the status description, often empty (see Reason)
	HTTPStatus                int    // http.response.status_code, 0 when absent
	ErrorType                 string // error.type, "" when absent
	Exception                 string // exception.message of the span's last exception event
}

// Duration returns how long the span ran.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Reason says why a failed span failed: its status description, else what its attributes say.
// Instrumentation leaves the description empty when an attribute already tells (an HTTP client
// span that got a 402 has http.response.status_code=402 and no description, as the semantic
// conventions ask), so a bare ✗ would hide the reason.
func (s Span) Reason() string {
	switch {
	case s.StatusMessage != "":
		return s.StatusMessage
	case s.HTTPStatus >= 400:
		if text := http.StatusText(s.HTTPStatus); text != "" {
			return fmt.Sprintf("%d %s", s.HTTPStatus, text)
		}
		return fmt.Sprintf("HTTP %d", s.HTTPStatus)
	case s.Exception != "":
		return s.Exception
	case s.ErrorType != "":
		return s.ErrorType
	}
	return ""
}

// Attribute keys SpanOf reads.
const (
	keyServiceName      = attribute.Key("service.name")
	keyHTTPStatus       = attribute.Key("http.response.status_code")
	keyErrorType        = attribute.Key("error.type")
	keyExceptionMessage = attribute.Key("exception.message")
)

// SpanOf converts a span of the OpenTelemetry SDK.
func SpanOf(s sdktrace.ReadOnlySpan) Span {
	sc := s.SpanContext()
	out := Span{
		TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(),
		Name: s.Name(), Kind: s.SpanKind(),
		Start: s.StartTime(), End: s.EndTime(),
		Error: s.Status().Code == codes.Error, StatusMessage: s.Status().Description,
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		out.ParentID = p.SpanID().String()
	}
	if res := s.Resource(); res != nil {
		if v, ok := res.Set().Value(keyServiceName); ok {
			out.Service = v.AsString()
		}
	}
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case keyHTTPStatus:
			out.HTTPStatus = int(kv.Value.AsInt64())
		case keyErrorType:
			out.ErrorType = kv.Value.Emit()
		}
	}
	if out.Error {
		events := s.Events()
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].Name != "exception" {
				continue
			}
			for _, kv := range events[i].Attributes {
				if kv.Key == keyExceptionMessage {
					out.Exception = kv.Value.Emit()
				}
			}
			break
		}
	}
	return out
}

// Line is a log line of a trace, printed under the trace's waterfall. A logging bridge makes
// one per line it logs in a span's context (zapbridge.WithWaterfall, slogbridge's option of the
// same name) and hands it to Printer.Log.
type Line struct {
	Time    time.Time
	TraceID trace.TraceID
	SpanID  trace.SpanID // the span the line was logged in: its service names the line
	Level   string       // as the logger spells it: "info", "warn", "ERROR", …
	Message string
	Attrs   []attribute.KeyValue // the line's own fields, not the context's (those repeat on every line)
}
