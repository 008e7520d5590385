package grpcctx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// TestProviderShutdownFlushesGRPCWarnings: a server built with WithProvider(p) warns about bad
// incoming metadata through p.WarnLimiter, so its warnings go to Install's WithErrorHandler and
// p.Shutdown reports the ones the limiter swallowed in its last interval, as it does for an
// HTTP handler given httpctx.WithProvider.
func TestProviderShutdownFlushesGRPCWarnings(t *testing.T) {
	errs := &warnSink{}
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithErrorHandler(errs.add))
	if err != nil {
		t.Fatal(err)
	}
	shutdown := func() error { return p.Shutdown(context.Background()) }
	defer shutdown()

	svc := &testService{calls: make(chan seen, 16)}
	srv := grpc.NewServer(grpcctx.ServerOptions(grpcctx.WithProvider(p))...)
	testpb.RegisterTestServiceServer(srv, svc)
	addr := serveLoopback(t, srv)
	client := plainClient(t, addr) // no ctxtrail: the bad traceparent goes out as it is

	const n = 5
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-nope"), 10*time.Second)
		_, err := client.EmptyCall(ctx, &testpb.Empty{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	warnings := func() (hws []*propagators.HeaderWarning) {
		for _, err := range errs.all() {
			var hw *propagators.HeaderWarning
			if errors.As(err, &hw) {
				hws = append(hws, hw)
			}
		}
		return hws
	}
	// One report for the first bad traceparent; the limiter (one per minute) swallows the rest.
	if got := warnings(); len(got) != 1 || got[0].Header != "traceparent" {
		t.Fatalf("before Shutdown the error handler had %v, want one traceparent warning", got)
	}
	if err := shutdown(); err != nil {
		t.Fatal(err)
	}
	got := warnings()
	if len(got) != 2 || got[1].Header != "" || got[1].Suppressed != n-1 {
		t.Fatalf("after Shutdown the error handler had %v, want the report and a summary of %d swallowed warnings", got, n-1)
	}
}

// TestWithWarnLimiterBeatsProvider: WithWarnLimiter names the limiter whichever side of
// WithProvider it stands.
func TestWithWarnLimiterBeatsProvider(t *testing.T) {
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	for _, order := range []string{"limiter first", "provider first"} {
		t.Run(order, func(t *testing.T) {
			mine := propagators.NewWarnLimiter(time.Hour, func(error) {})
			opts := []grpcctx.Option{grpcctx.WithWarnLimiter(mine), grpcctx.WithProvider(p)}
			if order == "provider first" {
				opts[0], opts[1] = opts[1], opts[0]
			}
			svc := &testService{calls: make(chan seen, 1)}
			srv := grpc.NewServer(grpcctx.ServerOptions(opts...)...)
			testpb.RegisterTestServiceServer(srv, svc)
			addr := serveLoopback(t, srv)
			before := p.WarnLimiter().Total()
			ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-nope"), 10*time.Second)
			defer cancel()
			if _, err := plainClient(t, addr).EmptyCall(ctx, &testpb.Empty{}); err != nil {
				t.Fatal(err)
			}
			if mine.Total() != 1 || p.WarnLimiter().Total() != before {
				t.Errorf("WithWarnLimiter's limiter counted %d, the Provider's %d: want 1 and 0", mine.Total(), p.WarnLimiter().Total()-before)
			}
		})
	}
}
