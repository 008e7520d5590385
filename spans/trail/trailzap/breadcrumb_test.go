package trailzap

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"
)

func TestLogBreadcrumb(t *testing.T) {
	tests := []struct {
		level zapcore.Level
		want  trail.Level
	}{
		{zapcore.DebugLevel, trail.LevelDebug},
		{zapcore.InfoLevel, trail.LevelInfo},
		{zapcore.WarnLevel, trail.LevelWarning},
		{zapcore.ErrorLevel, trail.LevelError},
		{zapcore.DPanicLevel, trail.LevelFatal},
		{zapcore.FatalLevel, trail.LevelFatal},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			ctx := trail.Start(context.Background())
			at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			LogBreadcrumb(ctx, zapcore.Entry{Level: tt.level, Message: "card declined", Time: at, LoggerName: "billing"})
			got := trail.FromContext(ctx).Breadcrumbs()
			if len(got) != 1 {
				t.Fatalf("%d crumbs, want 1", len(got))
			}
			b := got[0]
			if b.Level != tt.want || b.Category != trail.LogCategory || b.Message != "card declined" || !b.Time.Equal(at) ||
				!slices.Equal(b.Data, []attribute.KeyValue{attribute.String("logger", "billing")}) {
				t.Errorf("crumb = %+v", b)
			}
		})
	}
}
