package otelctx

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
)

// ErrorFields describes an error reported through otel.Handle or a ctxtrail error handler for a
// structured log line: a short constant message, and the details as fields. An error in the
// chain with a LogFields method (HeaderWarning; ctxtrail's LossWarning, LogLossWarning and the
// SDK errors Install rate-limits) gives both; any other error becomes "opentelemetry error" with
// an error field.
func ErrorFields(err error) (msg string, fields []attribute.KeyValue) {
	var lf interface {
		LogFields() (string, []attribute.KeyValue)
	}
	if errors.As(err, &lf) {
		return lf.LogFields()
	}
	return "opentelemetry error", []attribute.KeyValue{attribute.String("error", err.Error())}
}

// LogFields gives the warning as a log message and fields (ErrorFields).
func (w *HeaderWarning) LogFields() (string, []attribute.KeyValue) {
	return "bad incoming header", []attribute.KeyValue{
		attribute.String("header", w.Header), attribute.String("reason", w.Reason),
		attribute.Int64("suppressed", int64(w.Suppressed)), attribute.String("interval", w.Interval.String()),
	}
}
