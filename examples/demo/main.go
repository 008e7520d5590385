// Command demo runs the shop example — frontend, orders and payments — in one process on
// loopback, sends a handful of requests (some of them failing), and draws each request's trace
// as a waterfall with the log lines of that trace beneath it. It needs nothing but Go:
//
//	go run ./examples/demo
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/shop"
	"github.com/ctxtrail/ctxtrail/examples/waterfall"
	"github.com/ctxtrail/ctxtrail/otelctx"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
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

// syncBuffer is a bytes.Buffer several services write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func run(ctx context.Context, out io.Writer) error {
	var spanLines, logLines syncBuffer
	local, err := shop.StartLocal(ctx, &spanLines, &logLines)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var traceIDs []string
	results := map[string]string{}
	for _, rq := range requests {
		resp, err := client.Get(local.URL[shop.Frontend] + "/checkout?" + rq.query)
		if err != nil {
			_ = local.Close(ctx)
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		id := resp.Header.Get(otelctx.HeaderTraceID)
		traceIDs = append(traceIDs, id)
		results[id] = fmt.Sprintf("%s → %s", rq.what, resp.Status)
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := local.Close(shutdownCtx); err != nil {
		return err
	}

	spans, err := waterfall.ReadJSONLines(&spanLines.buf)
	if err != nil {
		return err
	}
	logs := logsByTrace(&logLines.buf)
	byTrace := map[string][]waterfall.Span{}
	for _, s := range spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	for i, id := range traceIDs {
		fmt.Fprintf(out, "── request %d: %s\n", i+1, results[id])
		if err := waterfall.Render(out, byTrace[id], waterfall.Options{}); err != nil {
			return err
		}
		for _, l := range logs[id] {
			fmt.Fprintf(out, "    log %s\n", l)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Each service also serves its live span monitor at /debug/ctxtrail.\n")
	return nil
}

// logsByTrace groups zapbridge's JSON lines by their trace_id, each as "service level msg k=v".
func logsByTrace(r io.Reader) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		id, _ := m["trace_id"].(string)
		if id == "" {
			continue
		}
		if m["logger"] == "report" { // an error report: its message and breadcrumbs, not its stack
			crumbs, _ := m["breadcrumbs"].([]any)
			var msgs []string
			for _, c := range crumbs {
				if c, ok := c.(map[string]any); ok {
					msgs = append(msgs, fmt.Sprint(c["message"]))
				}
			}
			out[id] = append(out[id], fmt.Sprintf("%-8v REPORT %v  (stack from %v; breadcrumbs: %s)",
				m["service"], m["message"], m["stack_source"], strings.Join(msgs, " → ")))
			continue
		}
		line := fmt.Sprintf("%-8v %-5v %v", m["service"], m["level"], m["msg"])
		var extra []string
		for k, v := range m {
			switch k {
			case "service", "level", "msg", "ts", "trace_id", "span_id", "caller", "stacktrace":
				continue
			}
			extra = append(extra, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			line += "  " + strings.Join(extra, " ")
		}
		out[id] = append(out[id], line)
	}
	return out
}
