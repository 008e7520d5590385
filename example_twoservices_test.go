package ctxtrail_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
)

// Two services in one process (a modular monolith, or a test of a service and its callee):
// each Install is WithoutGlobal, so neither owns the OpenTelemetry globals; each handler and
// transport is told its provider with WithProvider, so every span goes to its own service's
// resource, exporter and Monitor. Nothing else in ctxtrail reads a global here.
func ExampleInstall_twoServices() {
	ctx := context.Background()
	type service struct {
		name string
		exp  *tracetest.InMemoryExporter
		mon  *spans.Monitor
		p    *ctxtrail.Provider
	}
	start := func(name string) *service {
		s := &service{name: name, exp: tracetest.NewInMemoryExporter(), mon: spans.NewMonitor()}
		var err error
		s.p, err = ctxtrail.Install(ctx, ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName(name),
			ctxtrail.WithExporter(s.exp), ctxtrail.WithSpanProcessor(s.mon))
		if err != nil {
			panic(err)
		}
		return s
	}
	orders, payments := start("orders"), start("payments")

	payMux := http.NewServeMux()
	payMux.HandleFunc("POST /charge", func(w http.ResponseWriter, r *http.Request) {
		_ = spans.Run(r.Context(), "authorize card", func(context.Context) error { return nil })
	})
	paySrv := httptest.NewServer(httpctx.NewHandler(payMux, httpctx.WithProvider(payments.p)))
	defer paySrv.Close()

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: httpctx.NewTransport(transport, httpctx.WithProvider(orders.p))}
	orderMux := http.NewServeMux()
	orderMux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, paySrv.URL+"/charge", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	orderSrv := httptest.NewServer(httpctx.NewHandler(orderMux, httpctx.WithProvider(orders.p)))
	defer orderSrv.Close()

	resp, err := http.Post(orderSrv.URL+"/orders", "text/plain", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()

	for _, s := range []*service{orders, payments} {
		_ = s.p.ForceFlush(ctx) // into the exporter
		var names []string
		for _, sp := range s.exp.GetSpans() {
			svc, _ := sp.Resource.Set().Value("service.name")
			names = append(names, svc.AsString()+":"+sp.Name)
		}
		sort.Strings(names)
		fmt.Printf("%s exported %s; its monitor saw %d spans end\n",
			s.name, strings.Join(names, ", "), s.mon.Stats().Ended)
		_ = s.p.Shutdown(ctx)
	}
	// Output:
	// orders exported orders:POST, orders:POST /orders; its monitor saw 2 spans end
	// payments exported payments:POST /charge, payments:authorize card; its monitor saw 2 spans end
}
