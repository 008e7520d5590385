package zapbridge

import (
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ErrorHandler returns a function for ctxtrail.WithErrorHandler that writes each report (bad
// incoming headers, lost spans, the OpenTelemetry SDK's own errors) to l as one Warn line with
// the message and fields otelctx.ErrorFields gives, so a service that logs JSON with zap prints
// no plain-text line:
//
//	p, err := ctxtrail.Install(ctx, ctxtrail.WithErrorHandler(zapbridge.ErrorHandler(zl)))
//
// A nil l gives a nil function, which leaves the reports where they went.
func ErrorHandler(l *zap.Logger) func(error) {
	if l == nil {
		return nil
	}
	return func(err error) {
		msg, kvs := otelctx.ErrorFields(err)
		fields := make([]zapcore.Field, 0, len(kvs))
		for _, kv := range kvs {
			fields = append(fields, attrField(kv))
		}
		l.Warn(msg, fields...)
	}
}
