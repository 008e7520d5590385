// Command otelconfig is benchmarks/hello/ctxtrail with the configuration file: Install configured
// from OTEL_CONFIG_FILE through otelconfig (config-size.sh measures what that adds).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelconfig"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conf, err := otelconfig.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	p, err := ctxtrail.Install(ctx, ctxtrail.WithServiceName("hello"), conf.Option())
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello\n"))
	})
	if mon := conf.Monitor(); mon != nil {
		mux.Handle("GET "+conf.MonitorPath(), mon)
	}
	handler := httpctx.NewHandler(mux, append(conf.HTTPHandlerOptions(), httpctx.WithProvider(p))...)
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
