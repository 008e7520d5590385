package ctxtrail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
)

// errorCapture collects what an error handler is given.
type errorCapture struct {
	mu   sync.Mutex
	errs []error
}

func (c *errorCapture) handle(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

func (c *errorCapture) all() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

func (c *errorCapture) find(substr string) error {
	for _, err := range c.all() {
		if strings.Contains(err.Error(), substr) {
			return err
		}
	}
	return nil
}

// stderrWatch replaces, for one test, the global OpenTelemetry error handler (which writes plain
// text to stderr by default) and the standard logger's output, and returns what reached them.
func stderrWatch(t *testing.T) (global *errorCapture, logged *bytes.Buffer) {
	t.Helper()
	global, logged = new(errorCapture), new(bytes.Buffer)
	old := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(global.handle))
	log.SetOutput(&syncWriter{w: logged})
	t.Cleanup(func() {
		otel.SetErrorHandler(old)
		log.SetOutput(os.Stderr)
	})
	return global, logged
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// With WithErrorHandler, Install's own warnings reach the service's handler and nothing else,
// whether Install sets the global handler or not: the one for OTEL_SDK_DISABLED=yes, raised
// before the Provider exists, and the first failed jaeger_remote poll, which runs in the
// background as soon as the sampler starts (here a stand-in that reports at once;
// jaegerremote's TestFailedPollsReachErrorHandler runs the real sampler). The SDK's
// "unsupported sampler: jaeger_remote", about a sampler Install reads itself, is not passed on.
func TestInstallWarningsReachErrorHandlerFirst(t *testing.T) {
	for _, global := range []bool{true, false} {
		t.Run(fmt.Sprintf("global=%v", global), func(t *testing.T) {
			for run := range 4 { // the poll raced Install's handler one run in four
				clearEnv(t)
				t.Setenv("OTEL_SDK_DISABLED", "yes")
				t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
				t.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint=http://jaeger:5778/sampling,pollingIntervalMs=60000")
				stray, logged := stderrWatch(t)
				service := new(errorCapture)
				remote := &fakeRemote{pollErr: errors.New("ctxtrail: jaeger_remote sampler: status 500 from http://jaeger:5778/sampling")}

				opts := []Option{WithRemoteSampler(remote.start), WithErrorHandler(service.handle), WithoutExporter(),
					WithServiceName("checkout")}
				if !global {
					opts = append(opts, WithoutGlobal())
				}
				p, err := Install(context.Background(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Second) // a bound, not a timing assertion
				for service.find("jaeger_remote sampler") == nil && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if err := p.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}

				if err := service.find(`OTEL_SDK_DISABLED="yes"`); err == nil || !errors.Is(err, ErrConfig) {
					t.Errorf("run %d: the service's handler did not get the OTEL_SDK_DISABLED warning; it got %v", run, service.all())
				}
				if err := service.find("jaeger_remote sampler"); err == nil || !strings.Contains(err.Error(), "status 500") {
					t.Errorf("run %d: the service's handler did not get the failed poll; it got %v", run, service.all())
				}
				if err := service.find("unsupported sampler"); err != nil {
					t.Errorf("run %d: the service's handler was told %q about a sampler Install reads itself", run, err)
				}
				errs := stray.all()
				if !global {
					// The SDK's NewTracerProvider reads OTEL_TRACES_SAMPLER itself and reports
					// its complaint through otel.Handle, the global handler, which WithoutGlobal
					// leaves alone: that one line is the SDK's, and cannot be routed.
					errs = slices.DeleteFunc(errs, func(err error) bool {
						return err.Error() == "unsupported sampler: parentbased_jaeger_remote"
					})
				}
				if len(errs) > 0 {
					t.Errorf("run %d: went to the global error handler (stderr by default) instead: %v", run, errs)
				}
				if s := logged.String(); s != "" {
					t.Errorf("run %d: went to the standard logger instead: %q", run, s)
				}
			}
		})
	}
}

// An Install that fails puts the global error handler back as it was.
func TestInstallFailureRestoresGlobalErrorHandler(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	stray, _ := stderrWatch(t)
	service := new(errorCapture)
	if _, err := Install(context.Background(), WithErrorHandler(service.handle), WithoutExporter()); !errors.Is(err, ErrConfig) {
		t.Fatalf("Install: %v, want a configuration error", err)
	}
	otel.Handle(errors.New("after the failed Install"))
	if stray.find("after the failed Install") == nil {
		t.Errorf("the global error handler was left pointing at the failed Install's; the service got %v", service.all())
	}
}
