// Command shop runs one service of the shop example, chosen by SHOP_SERVICE, exporting its
// traces as the OTEL_* variables say (docker-compose.yml points them at Jaeger).
//
//	SHOP_SERVICE=payments SHOP_ADDR=:8082 OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 go run ./examples/shop/cmd/shop
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/shop"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := shop.ConfigFromEnv()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The frontend's evidence (CTXTRAIL_EVIDENCE) is made first, so that Install holds a
	// captured request's server span until its breakdown is read.
	var topts []ctxtrail.Option
	if cfg.Recorder, err = shop.NewRecorder(cfg); err != nil {
		return err
	}
	if cfg.Recorder != nil {
		topts = append(topts, ctxtrail.WithSpanExportHold(cfg.Recorder))
	}
	tel, err := shop.NewTelemetry(ctx, cfg.Service, os.Stdout, topts...)
	if err != nil {
		_ = cfg.Recorder.Shutdown(ctx)
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	}()
	svc, err := shop.NewService(ctx, cfg, tel)
	if err != nil {
		return err
	}
	defer svc.Close()

	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := svc.NewServer() // HTTP, or gRPC for payments
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	tel.Log.Zap().Info("listening " + lis.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop taking requests, finish the ones in flight, then flush spans (deferred).
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
