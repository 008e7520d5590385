// Package trailzap is spans/trail for zap: a trail.Sink that writes each error report as one
// structured zap log line, the zapbridge hook that turns error-level log lines into
// breadcrumbs, and zap objects for a report and its parts. It is a package of its own so that
// trail, and every user of its middleware or of Capture, does not compile go.uber.org/zap.
//
// # The log sink
//
// NewLogSink returns a LogSink: Send only queues the report (DefaultQueueSize, WithQueueSize),
// one goroutine writes the lines at error level with the message LogMessage, and a full queue
// drops the report and counts it (Dropped), so a slow log output never blocks a request. The
// line's fields are the report's JSON fields, documented in trail's package doc, beside zap's
// level, ts and msg. Stop the sink with Shutdown.
//
//	sink := trailzap.NewLogSink(logger)
//	defer sink.Shutdown(context.Background())
//	handler := httpctx.NewHandler(trail.NewHandler(app, trail.WithSink(sink)))
//	reg, err := trail.RegisterMetrics(meterProvider, sink) // ctxtrail.trail.reports.dropped
//
// # Log lines as breadcrumbs
//
// LogBreadcrumb has the signature of zapbridge's hooks, so that every error-level line logged
// with a request's context becomes a crumb of that request (category trail.LogCategory):
//
//	log := zapbridge.New(zl, zapbridge.WithErrorHook(trailzap.LogBreadcrumb))
//
// # Reports in your own log lines
//
// ReportObject, BreadcrumbObject, ErrorInfoObject and FrameObject turn trail's types into
// zapcore.ObjectMarshalers with the fields of their JSON:
//
//	logger.Warn("slow checkout", zap.Object("report", trailzap.ReportObject(r)))
//
// # Goroutines
//
// A LogSink runs one goroutine, stopped by its Shutdown. Nothing else in the package starts one.
package trailzap
