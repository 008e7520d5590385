// Command ctxtrail is the hello-world service of the binary-size comparison (hello.sh): all three
// signals from OTEL_* through ctxtrail's Install, and its HTTP handler. Its rival is ../contrib.
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
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, err := ctxtrail.Install(ctx, ctxtrail.WithServiceName("hello"))
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
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: httpctx.NewHandler(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
