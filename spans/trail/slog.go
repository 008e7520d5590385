package trail

import (
	"context"
	"log/slog"
)

// SlogBreadcrumb is trailzap.LogBreadcrumb for log/slog: a breadcrumb for a record, with category
// LogCategory and the record's level, message and time. Its signature is slogbridge's HookFunc,
// so slogbridge.WithErrorHook(trail.SlogBreadcrumb) turns every error-level record logged with a
// request's context into a crumb of that request.
func SlogBreadcrumb(ctx context.Context, r slog.Record) {
	Add(ctx, Breadcrumb{
		Time:     r.Time,
		Level:    slogLevelOf(r.Level),
		Category: LogCategory,
		Message:  r.Message,
	})
}

// slogLevelOf maps slog's levels, which may sit between the named ones, to the level at or
// below them.
func slogLevelOf(l slog.Level) Level {
	switch {
	case l < slog.LevelInfo:
		return LevelDebug
	case l < slog.LevelWarn:
		return LevelInfo
	case l < slog.LevelError:
		return LevelWarning
	}
	return LevelError
}
