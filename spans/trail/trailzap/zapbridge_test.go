package trailzap

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// discardLogger logs every level to nowhere: a Nop logger would never reach the hooks.
func discardLogger() *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.DebugLevel))
}

// TestZapbridgeSeam wires LogBreadcrumb into zapbridge's error hook, as a service would: an
// error line logged with a request's context becomes a crumb of that request only.
func TestZapbridgeSeam(t *testing.T) {
	log := zapbridge.New(discardLogger(), zapbridge.WithErrorHook(LogBreadcrumb))
	reqA := trail.Start(context.Background())
	reqB := trail.Start(context.Background())

	log.Ctx(reqA).Info("fine")
	log.Ctx(reqA).Error("card declined")
	log.Ctx(reqB).Warn("slow")

	got := trail.FromContext(reqA).Breadcrumbs()
	if !slices.Equal(messages(got), []string{"card declined"}) || got[0].Level != trail.LevelError || got[0].Category != trail.LogCategory {
		t.Fatalf("request A's crumbs = %+v, want the error line only", got)
	}
	if trail.FromContext(reqB).Len() != 0 {
		t.Fatal("request B got a crumb")
	}
}
