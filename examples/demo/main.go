// Command demo runs the shop example — frontend, orders and payments — in one process on
// loopback, sends a handful of requests (some of them failing), and shows each request's trace
// as ctxtrail's terminal waterfall prints it (OTEL_TRACES_EXPORTER=ctxtrail-waterfall): the
// spans of all three services in one tree, with that request's log lines and error reports
// beneath. It needs nothing but Go:
//
//	go run ./examples/demo          # five requests, then the shop stops
//	go run ./examples/demo -serve   # the same, then the shop keeps running until Ctrl-C
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// A request the demo sends to the frontend, and why.
type request struct {
	query, what string
}

var requests = []request{
	{"user=ada@example.com&item=book&qty=2&card=4242", "a book, paid"},
	{"user=ada@example.com&item=book&card=0000", "card declined: the order rolls back"},
	{"user=bob@example.com&item=laptop&card=4242", "not enough credit: no charge is attempted"},
	{"user=ada@example.com&item=pen&card=panic", "payments panics: it answers Internal and lives on, the caller sees 502"},
	{"user=ada@example.com&item=pen&qty=many&card=4242", "bad request: rejected at the frontend"},
}

// traceWait bounds how long the demo waits for a request's trace to be printed: the frontend's
// server span ends just after the response is sent, and the printer draws it at once.
const traceWait = 10 * time.Second

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	serve := fs.Bool("serve", false, "keep the shop running after the demo's requests, until interrupted")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// One Printer for the three services: a request's spans from all of them draw as one trace.
	traces := newTraceWriter()
	printer := waterfall.New(traces)
	local, err := shop.StartLocalEvidence(ctx, io.Discard, io.Discard, shop.DemoEvidence(), ctxtrail.WithWaterfall(printer))
	if err != nil {
		_ = printer.Shutdown(ctx)
		return err
	}
	closeAll := func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return errors.Join(local.Close(sctx), printer.Shutdown(sctx))
	}

	client := &http.Client{Timeout: 10 * time.Second}
	for i, rq := range requests {
		resp, err := client.Get(local.URL[shop.Frontend] + "/checkout?" + rq.query)
		if err != nil {
			return errors.Join(err, closeAll())
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		fmt.Fprintf(out, "── request %d: %s → %s\n", i+1, rq.what, resp.Status)
		block, ok := traces.wait(ctx, resp.Header.Get(propagators.HeaderTraceID), traceWait)
		if !ok {
			fmt.Fprintf(out, "(its trace was not printed within %v)\n\n", traceWait)
			continue
		}
		_, _ = out.Write(block)
	}
	if err := showEvidence(ctx, out, local, client); err != nil {
		return errors.Join(err, closeAll())
	}

	if !*serve {
		err := closeAll()
		traces.passTo(out) // anything the printer said besides the traces (drops, late spans)
		fmt.Fprintln(out, "The shop has stopped. `go run ./examples/demo -serve` keeps it running, to send your own")
		fmt.Fprintln(out, "requests and open each service's live span monitor at /debug/ctxtrail.")
		return err
	}
	traces.passTo(out) // from now on the printer writes straight through
	fmt.Fprintf(out, "The shop is running until Ctrl-C. Try:\n  curl '%s/checkout?user=ada@example.com&item=book&card=4242'\n",
		local.URL[shop.Frontend])
	fmt.Fprintln(out, "Live span monitors (latency by route down to each request's waterfall, spans in flight, leaks):")
	for _, name := range shop.Services {
		if u := local.URL[name]; strings.HasPrefix(u, "http") { // payments speaks only gRPC
			fmt.Fprintf(out, "  %-8s %s/debug/ctxtrail\n", name, u)
		}
	}
	fmt.Fprintln(out)
	<-ctx.Done()
	return closeAll()
}

// traceWriter receives what the Printer writes — each trace in one Write, starting
// "trace <id>" — and keeps each trace until the demo shows it under its request; once passTo
// is called, everything goes straight to that writer instead.
type traceWriter struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a trace arrives
	byID    map[string][]byte
	other   bytes.Buffer // notices: drops, late spans
	to      io.Writer
}

func newTraceWriter() *traceWriter {
	return &traceWriter{changed: make(chan struct{}), byID: map[string][]byte{}}
}

func (t *traceWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.to != nil {
		return t.to.Write(p)
	}
	if rest, ok := bytes.CutPrefix(p, []byte("trace ")); ok {
		if id, _, ok := bytes.Cut(rest, []byte(" ")); ok && len(t.byID) < 1000 {
			t.byID[string(id)] = bytes.Clone(p)
			close(t.changed)
			t.changed = make(chan struct{})
			return len(p), nil
		}
	}
	if t.other.Len() < 1<<20 {
		t.other.Write(p)
	}
	return len(p), nil
}

// wait returns the trace with id once it has been printed, or false after timeout.
func (t *traceWriter) wait(ctx context.Context, id string, timeout time.Duration) ([]byte, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		t.mu.Lock()
		block, ok := t.byID[id]
		changed := t.changed
		t.mu.Unlock()
		if ok || id == "" {
			return block, ok
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// passTo writes the notices kept so far to w and sends everything written later there.
func (t *traceWriter) passTo(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := strings.TrimSpace(t.other.String()); s != "" {
		fmt.Fprintf(w, "%s\n\n", s)
	}
	t.other.Reset()
	t.to = w
}
