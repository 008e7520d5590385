package zapbridge

import (
	"context"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Logger is a zap logger whose lines carry their context: trace_id, span_id, request_id, the
// request-store fields (otelctx.AddFields) and chosen baggage members. Log through Ctx or the
// ...Context methods; hand Zap() to code that holds only a *zap.Logger.
//
// A Logger is safe for concurrent use. The zero Logger and a nil *Logger log nothing.
type Logger struct {
	direct  *zap.Logger  // the caller's logger, skipping this package's frames; unwrapped core
	core    zapcore.Core // direct's core, for the level check before anything else
	wrapped *zap.Logger  // the caller's logger over NewCore, for Context fields
	e       *enricher
	with    []zap.Field // fields given to With, kept for OpenTelemetry records only
}

// callerSkip is how many frames sit between the user's call and Logger.Check in the direct path:
// write, log and the exported method that called them. Inlining does not change the count:
// zap's stack capture sees inlined frames.
const callerSkip = 3

func newLogger(direct, wrapped *zap.Logger, e *enricher) *Logger {
	return &Logger{direct: direct, core: direct.Core(), wrapped: wrapped, e: e}
}

// New returns a Logger that writes through zl, keeping its core, level, caller, stack, hooks and
// fields. A nil zl logs nothing.
//
// Fields given to zl's With before New reach zl's output but cannot reach OpenTelemetry records
// (WithLoggerProvider): zap encodes them into the core, where nothing can read them back. Give
// them to the Logger's With, or wrap the core first and let its With keep them:
//
//	zl := zap.New(zapbridge.NewCore(core)).With(zap.String("service", "checkout"))
//	log := zapbridge.New(zl, zapbridge.WithLoggerProvider(lp)) // records carry service too
//
// When zl's core is one made by NewCore (or a Logger's Zap), with or without With since, the
// Logger takes that core's place: the fields given to its With go into the records, and each
// line is enriched and emitted once. The Logger then uses opts, or that core's options when
// opts is empty.
func New(zl *zap.Logger, opts ...Option) *Logger {
	if zl == nil {
		zl = zap.NewNop()
	}
	var under *core
	if bc, ok := zl.Core().(*core); ok {
		under = bc
		zl = zl.WithOptions(zap.WrapCore(func(zapcore.Core) zapcore.Core { return bc.inner }))
	}
	var e *enricher
	if under != nil && len(opts) == 0 {
		e = under.e
	} else {
		e = newEnricher(newConfig(opts))
	}
	l := newLogger(
		zl.WithOptions(zap.AddCallerSkip(callerSkip)),
		zl.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			nc := newCore(c, e)
			if under != nil {
				nc.ctx, nc.with = under.ctx, under.with
			}
			return nc
		})),
		e,
	)
	if under != nil {
		l.with = under.with
	}
	return l
}

// Ctx returns a logger for lines of ctx's request. It is a small value: making one does not
// allocate, so call it per line or keep it for a function's lines.
func (l *Logger) Ctx(ctx context.Context) ContextLogger {
	return ContextLogger{l: l, ctx: ctx}
}

// Zap returns a *zap.Logger over the same core, wrapped by NewCore with this Logger's options,
// for code that holds only a *zap.Logger: it understands Context(ctx) fields.
func (l *Logger) Zap() *zap.Logger {
	if l == nil || l.wrapped == nil {
		return zap.NewNop()
	}
	return l.wrapped
}

// With returns a child Logger whose lines carry fields. Give the context of a line to the line
// (Ctx, InfoContext): a Context field given here reaches only Zap()'s logger.
func (l *Logger) With(fields ...zap.Field) *Logger {
	if l == nil || l.core == nil || len(fields) == 0 {
		return l
	}
	nl := newLogger(l.direct.With(fields...), l.wrapped.With(fields...), l.e)
	if l.e.cfg.otel != nil {
		nl.with = append(append([]zap.Field(nil), l.with...), fields...)
	}
	return nl
}

// Named returns a child Logger with name added to the logger name, as zap.Logger.Named does.
func (l *Logger) Named(name string) *Logger {
	if l == nil || l.core == nil || name == "" {
		return l
	}
	nl := newLogger(l.direct.Named(name), l.wrapped.Named(name), l.e)
	nl.with = l.with
	return nl
}

// WithOptions returns a child Logger with zap options applied, as zap.Logger.WithOptions does.
func (l *Logger) WithOptions(opts ...zap.Option) *Logger {
	if l == nil || l.core == nil || len(opts) == 0 {
		return l
	}
	nl := newLogger(l.direct.WithOptions(opts...), l.wrapped.WithOptions(opts...), l.e)
	nl.with = l.with
	return nl
}

// Level reports the minimum enabled level.
func (l *Logger) Level() zapcore.Level {
	if l == nil || l.core == nil {
		return zapcore.InvalidLevel
	}
	return l.direct.Level()
}

// Sync flushes the underlying core.
func (l *Logger) Sync() error {
	if l == nil || l.core == nil {
		return nil
	}
	return l.direct.Sync()
}

// LogContext logs a line at lvl for ctx's request.
func (l *Logger) LogContext(ctx context.Context, lvl zapcore.Level, msg string, fields ...zap.Field) {
	l.log(ctx, lvl, msg, fields)
}

// DebugContext logs a line at DebugLevel for ctx's request.
func (l *Logger) DebugContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.DebugLevel, msg, fields)
}

// InfoContext logs a line at InfoLevel for ctx's request.
func (l *Logger) InfoContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.InfoLevel, msg, fields)
}

// WarnContext logs a line at WarnLevel for ctx's request.
func (l *Logger) WarnContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.WarnLevel, msg, fields)
}

// ErrorContext logs a line at ErrorLevel for ctx's request and, unless WithoutErrorStatus, marks
// ctx's span as an error.
func (l *Logger) ErrorContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.ErrorLevel, msg, fields)
}

// DPanicContext logs a line at DPanicLevel for ctx's request; a development logger then panics.
func (l *Logger) DPanicContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.DPanicLevel, msg, fields)
}

// PanicContext logs a line at PanicLevel for ctx's request, then panics.
func (l *Logger) PanicContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.PanicLevel, msg, fields)
}

// FatalContext logs a line at FatalLevel for ctx's request, then calls os.Exit(1) (or zap's
// fatal hook).
func (l *Logger) FatalContext(ctx context.Context, msg string, fields ...zap.Field) {
	l.log(ctx, zapcore.FatalLevel, msg, fields)
}

// log is the hot path, small enough to be inlined into the exported methods so that a disabled
// level costs one level check. Panic and Fatal lines always go on, as in zap: they must panic
// or exit even when not written.
func (l *Logger) log(ctx context.Context, lvl zapcore.Level, msg string, fields []zap.Field) {
	if l == nil || l.core == nil || (lvl < zapcore.DPanicLevel && !l.core.Enabled(lvl)) {
		return
	}
	l.write(ctx, lvl, msg, fields)
}

// write logs an enabled line. It must sit exactly callerSkip frames below the user's call.
func (l *Logger) write(ctx context.Context, lvl zapcore.Level, msg string, fields []zap.Field) {
	ce := l.direct.Check(lvl, msg)
	if ce == nil {
		return
	}
	lc, n := l.e.gather(ctx)
	all := l.e.fieldsWith(&lc, n, fields)
	// The line's own fields, from our copy, so that the caller's slice does not escape.
	own := all[len(all)-len(fields):]
	if l.e.hasEffects(lvl) {
		l.e.effects(ctx, ce.Entry, own)
	}
	if l.e.cfg.otel != nil {
		l.e.emitOTel(ctx, ce.Entry, l.with, own, &lc)
	}
	ce.Write(all...)
}

// ContextLogger logs lines for one context. Make one with Logger.Ctx; the zero value logs
// nothing.
type ContextLogger struct {
	l   *Logger
	ctx context.Context
}

// Context returns the context the lines are logged for.
func (c ContextLogger) Context() context.Context { return c.ctx }

// Zap returns a *zap.Logger whose lines carry this context, for code that holds only a
// *zap.Logger. Unlike ContextLogger, it allocates: the context's fields are encoded once, here.
func (c ContextLogger) Zap() *zap.Logger {
	return c.l.Zap().With(Context(c.ctx))
}

// Log logs a line at lvl.
func (c ContextLogger) Log(lvl zapcore.Level, msg string, fields ...zap.Field) {
	c.l.log(c.ctx, lvl, msg, fields)
}

// Debug logs a line at DebugLevel.
func (c ContextLogger) Debug(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.DebugLevel, msg, fields)
}

// Info logs a line at InfoLevel.
func (c ContextLogger) Info(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.InfoLevel, msg, fields)
}

// Warn logs a line at WarnLevel.
func (c ContextLogger) Warn(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.WarnLevel, msg, fields)
}

// Error logs a line at ErrorLevel and, unless WithoutErrorStatus, marks the span as an error.
func (c ContextLogger) Error(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.ErrorLevel, msg, fields)
}

// DPanic logs a line at DPanicLevel; a development logger then panics.
func (c ContextLogger) DPanic(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.DPanicLevel, msg, fields)
}

// Panic logs a line at PanicLevel, then panics.
func (c ContextLogger) Panic(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.PanicLevel, msg, fields)
}

// Fatal logs a line at FatalLevel, then calls os.Exit(1) (or zap's fatal hook).
func (c ContextLogger) Fatal(msg string, fields ...zap.Field) {
	c.l.log(c.ctx, zapcore.FatalLevel, msg, fields)
}
