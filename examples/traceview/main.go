// Command traceview draws traces as waterfalls in the terminal, for when Jaeger isn't open.
//
// From the console exporter's JSON lines (a file, or stdin):
//
//	go run ./your/service | go run github.com/ctxtrail/ctxtrail/examples/traceview
//	go run ./examples/traceview spans.jsonl
//
// From Jaeger v2's query API, by trace ID:
//
//	go run ./examples/traceview -jaeger http://localhost:16686 4bf92f3577b34da6a3ce929d0e0e4736
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/waterfall"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "traceview:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("traceview", flag.ContinueOnError)
	fs.SetOutput(out)
	jaeger := fs.String("jaeger", "", "Jaeger query address (such as http://localhost:16686); the arguments are trace IDs")
	width := fs.Int("width", 40, "columns of the duration bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var spans []waterfall.Span
	switch {
	case *jaeger != "":
		if fs.NArg() == 0 {
			return errors.New("-jaeger needs one or more trace IDs")
		}
		client := &http.Client{Timeout: 10 * time.Second}
		for _, id := range fs.Args() {
			got, err := waterfall.FetchJaeger(ctx, client, *jaeger, id)
			if err != nil {
				return err
			}
			spans = append(spans, got...)
		}
	case fs.NArg() > 0:
		for _, name := range fs.Args() {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			got, err := waterfall.ReadJSONLines(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			spans = append(spans, got...)
		}
	default:
		got, err := waterfall.ReadJSONLines(stdin)
		if err != nil {
			return err
		}
		spans = got
	}
	if len(spans) == 0 {
		return errors.New("no spans found")
	}
	for _, tr := range waterfall.ByTrace(spans) {
		if err := waterfall.Render(out, tr, waterfall.Options{BarWidth: *width}); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	return nil
}
