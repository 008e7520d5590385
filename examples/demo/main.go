// Command demo traces a request through a small HTTP service on loopback and draws the trace as
// a waterfall in the terminal. It needs nothing but Go:
//
//	go run ./examples/demo
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	var spans bytes.Buffer // the console exporter's JSON lines, drawn at the end
	p, err := otelctx.Install(ctx, otelctx.WithServiceName("shop"), otelctx.WithWriter(&spans))
	if err != nil {
		return err
	}
	tracer := otel.Tracer("ctxtrail/examples/demo")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout", func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if err := checkout(ctx, tracer, r.URL.Query().Get("card")); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			http.Error(w, err.Error(), http.StatusPaymentRequired)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()

	for _, card := range []string{"4242", "0000"} {
		ctx, span := tracer.Start(ctx, "client checkout", trace.WithSpanKind(trace.SpanKindClient))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+lis.Addr().String()+"/checkout?card="+card, nil)
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		span.End()
	}

	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := p.Shutdown(shutdownCtx); err != nil {
		return err
	}
	all, err := waterfall.ReadJSONLines(&spans)
	if err != nil {
		return err
	}
	for _, tr := range waterfall.ByTrace(all) {
		if err := waterfall.Render(out, tr, waterfall.Options{}); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	return nil
}

var errDeclined = errors.New("card declined")

func checkout(ctx context.Context, tracer trace.Tracer, card string) error {
	_, span := tracer.Start(ctx, "load cart")
	time.Sleep(2 * time.Millisecond)
	span.End()

	_, span = tracer.Start(ctx, "charge card")
	defer span.End()
	time.Sleep(3 * time.Millisecond)
	if card == "0000" {
		span.SetStatus(codes.Error, errDeclined.Error())
		return errDeclined
	}
	return nil
}
