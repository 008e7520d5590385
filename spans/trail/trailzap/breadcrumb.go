package trailzap

import (
	"context"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"
)

// LogBreadcrumb adds a breadcrumb for a log line to the trail in ctx: category
// trail.LogCategory, the line's level, message and time, and the logger's name as data
// "logger". Its signature is zapbridge's HookFunc, so zapbridge.WithErrorHook(trailzap.LogBreadcrumb)
// turns every error-level line logged with a request's context into a crumb of that request.
func LogBreadcrumb(ctx context.Context, ent zapcore.Entry) {
	b := trail.Breadcrumb{
		Time:     ent.Time,
		Level:    levelOf(ent.Level),
		Category: trail.LogCategory,
		Message:  ent.Message,
	}
	if ent.LoggerName != "" {
		b.Data = []attribute.KeyValue{attribute.String("logger", ent.LoggerName)}
	}
	trail.Add(ctx, b)
}

// levelOf maps a zap level to a breadcrumb level: DPanic, Panic and Fatal are all LevelFatal.
func levelOf(l zapcore.Level) trail.Level {
	switch {
	case l < zapcore.InfoLevel:
		return trail.LevelDebug
	case l == zapcore.InfoLevel:
		return trail.LevelInfo
	case l == zapcore.WarnLevel:
		return trail.LevelWarning
	case l == zapcore.ErrorLevel:
		return trail.LevelError
	}
	return trail.LevelFatal
}
