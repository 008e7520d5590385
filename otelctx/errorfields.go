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
