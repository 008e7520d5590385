package trailzap

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DefaultQueueSize is how many reports a LogSink holds waiting to be written.
const DefaultQueueSize = 1024

// LogMessage is the message of the log line a LogSink writes for each report.
const LogMessage = "error report"

// LogSink is a trail.Sink that writes each report as one structured zap log line, at error
// level, whose fields are the report's JSON fields (see trail's package doc). The line carries
// no zap caller or stacktrace, which would point into the sink: the report's own stack is
// there. Send only queues the report; one background goroutine writes the lines, so a slow log output never blocks a
// request. When the queue is full the report is dropped and counted. Create it with
// NewLogSink and stop it with Shutdown.
type LogSink struct {
	log   *zap.Logger
	queue chan *trail.Report
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu     sync.RWMutex // Send holds it shared; Shutdown holds it to close the door
	closed bool

	dropped atomic.Uint64
	written atomic.Uint64
}

type logSinkConfig struct{ queueSize int }

// LogSinkOption configures NewLogSink.
type LogSinkOption interface {
	applyLogSink(logSinkConfig) logSinkConfig
}

type logSinkOptionFunc func(logSinkConfig) logSinkConfig

func (f logSinkOptionFunc) applyLogSink(c logSinkConfig) logSinkConfig { return f(c) }

// WithQueueSize sets how many reports wait to be written (DefaultQueueSize, at least 1).
func WithQueueSize(n int) LogSinkOption {
	return logSinkOptionFunc(func(c logSinkConfig) logSinkConfig { c.queueSize = max(n, 1); return c })
}

// NewLogSink returns a LogSink writing to log (a no-op logger if log is nil) and starts its
// goroutine, which runs until Shutdown.
func NewLogSink(log *zap.Logger, opts ...LogSinkOption) *LogSink {
	c := logSinkConfig{queueSize: DefaultQueueSize}
	for _, o := range opts {
		if o != nil {
			c = o.applyLogSink(c)
		}
	}
	if log == nil {
		log = zap.NewNop()
	}
	// The report carries its own stack (where the error was captured or the panic happened):
	// zap's stack and caller would only point here, at the sink's goroutine.
	log = log.WithOptions(zap.AddStacktrace(zapcore.InvalidLevel), zap.WithCaller(false))
	s := &LogSink{
		log:   log,
		queue: make(chan *trail.Report, c.queueSize),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go s.run()
	return s
}

// Send queues r to be written, or drops and counts it when the queue is full or the sink has
// been shut down. It never blocks on the log output.
func (s *LogSink) Send(_ context.Context, r *trail.Report) {
	if r == nil {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(1)
		return
	}
	select {
	case s.queue <- r:
	default:
		s.dropped.Add(1)
	}
}

// Dropped returns how many reports were dropped because the queue was full or the sink shut;
// trail.RegisterMetrics publishes it. A nil LogSink has dropped none.
func (s *LogSink) Dropped() uint64 {
	if s == nil {
		return 0
	}
	return s.dropped.Load()
}

// Written returns how many reports have been written to the logger.
func (s *LogSink) Written() uint64 { return s.written.Load() }

// Shutdown stops taking reports, writes those already queued and stops the goroutine. It waits
// until then or until ctx ends, whichever is first; in the second case the goroutine still
// finishes the queue on its own and Shutdown returns ctx's error. It is safe to call more than
// once. It does not Sync the logger, which belongs to the caller.
func (s *LogSink) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("trailzap: log sink shutdown: %w", ctx.Err())
	}
}

func (s *LogSink) run() {
	defer close(s.done)
	for {
		select {
		case r := <-s.queue:
			s.write(r)
		case <-s.stop:
			// Shutdown closed the door before closing stop: the queue only shrinks now.
			for {
				select {
				case r := <-s.queue:
					s.write(r)
				default:
					return
				}
			}
		}
	}
}

func (s *LogSink) write(r *trail.Report) {
	s.log.Error(LogMessage, zap.Inline((*reportObject)(r)))
	s.written.Add(1)
}

var (
	_ trail.Sink        = (*LogSink)(nil)
	_ trail.DropCounter = (*LogSink)(nil)
)
