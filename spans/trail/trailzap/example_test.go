package trailzap_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/spans/trail/trailzap"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func ExampleLogBreadcrumb() {
	// Error-level lines logged with a request's context become crumbs of that request.
	out := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.DebugLevel))
	log := zapbridge.New(out, zapbridge.WithErrorHook(trailzap.LogBreadcrumb))

	ctx := trail.Start(context.Background())
	log.Ctx(ctx).Info("charging card")
	log.Named("billing").Ctx(ctx).Error("card declined")

	for _, b := range trail.FromContext(ctx).Breadcrumbs() {
		fmt.Println(b.Level, b.Category, b.Message, b.Data[0].Key, b.Data[0].Value.String())
	}
	// Output:
	// error log card declined logger billing
}

func ExampleNewLogSink() {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "" // keep the output stable
	sink := trailzap.NewLogSink(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(os.Stdout), zapcore.ErrorLevel)))

	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sink.Send(context.Background(), &trail.Report{
		ID: "6f1c0a1b2c3d4e5f60718293a4b5c6d7", Time: at, Message: "card declined",
		Errors:      []trail.ErrorInfo{{Type: "*errors.errorString", Message: "card declined"}},
		RequestID:   "req-42",
		Breadcrumbs: []trail.Breadcrumb{{Time: at, Level: trail.LevelInfo, Category: "default", Message: "cart loaded"}},
	})
	if err := sink.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"level":"error","msg":"error report","id":"6f1c0a1b2c3d4e5f60718293a4b5c6d7","timestamp":"2025-03-01T12:00:00Z","message":"card declined","errors":[{"type":"*errors.errorString","message":"card declined","depth":0}],"request_id":"req-42","breadcrumbs":[{"timestamp":"2025-03-01T12:00:00Z","level":"info","category":"default","message":"cart loaded"}]}
}
