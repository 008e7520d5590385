package zapbridge

import (
	"context"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Keys of the context-carrying field. A bridge core that has enriched a line renames the field
// to contextDoneKey, so a second bridge core further down (NewCore(NewCore(...))) does not add the
// same fields again, while cores that look only for a context.Context in a field's Interface
// (go.opentelemetry.io/contrib/bridges/otelzap does) still find it.
const (
	contextKey     = "ctxtrail.context"
	contextDoneKey = "ctxtrail.context.done"
)

// Context returns a field that carries ctx to a core made by NewCore (or a Logger's Zap): the
// way in for code that holds only a *zap.Logger.
//
//	zl.Info("charged", zapbridge.Context(ctx), zap.Int("cents", 1250))
//
// The core replaces the field with ctx's trace_id, span_id, request_id, request-store fields and
// chosen baggage. Any other core skips it (it is a zapcore.SkipType field), so it is safe to pass
// to every zap logger. Creating it does not allocate. A nil ctx carries nothing.
func Context(ctx context.Context) zap.Field {
	return zap.Field{Key: contextKey, Type: zapcore.SkipType, Interface: ctx}
}

// contextIn finds the first Context field in fields. It reports done when a bridge core has
// already enriched the line (so nothing is to be added), and i = -1 when there is no such field.
func contextIn(fields []zapcore.Field) (ctx context.Context, i int, done bool) {
	for i := range fields {
		f := &fields[i]
		if f.Type != zapcore.SkipType {
			continue
		}
		switch f.Key {
		case contextKey:
			ctx, _ = f.Interface.(context.Context)
			return ctx, i, false
		case contextDoneKey:
			return nil, i, true
		}
	}
	return nil, -1, false
}
