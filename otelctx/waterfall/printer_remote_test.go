package waterfall_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"github.com/ctxtrail/ctxtrail/spans"
)

// A request that arrives with a traceparent from another process is printed as soon as its server
// span ends: that span is the trace's local root, drawn "(parent missing)" because its parent is
// the caller's client span, in the caller's process. The printer must not wait for that parent,
// nor for MaxAge. MaxAge is an hour here and the poll gives up long before, so a printer that
// waits fails the test instead of printing late.
func TestPrinterPrintsRemoteParentTraceWhenLocalRootEnds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		printer func(*syncBuffer) *waterfall.Printer // nil: the one Install builds
	}{
		{"New", func(out *syncBuffer) *waterfall.Printer { return waterfall.New(out, waterfall.WithMaxAge(time.Hour)) }},
		{"Install", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			var printer *waterfall.Printer
			opts := []ctxtrail.Option{ctxtrail.WithWriter(&out)}
			if tt.printer != nil {
				printer = tt.printer(&out)
				defer printer.Shutdown(context.Background())
			}
			p := install(t, "orders", append(opts, ctxtrail.WithWaterfall(printer))...)
			printer = p.Waterfall()
			url := serve(t, httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = spans.Run(r.Context(), "charge", func(context.Context) error { return nil })
				fmt.Fprint(w, "ok")
			}), httpctx.WithProvider(p)))

			const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			req, _ := http.NewRequest(http.MethodPost, url+"/orders", nil)
			req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get(propagators.HeaderTraceID); got != traceID {
				t.Fatalf("x-trace-id %q: the server did not continue the caller's trace %s", got, traceID)
			}

			// No ForceFlush: the trace must print on its own once the server span has ended.
			waitFor(t, func() bool { return printer.Stats().Traces == 1 }, &out)
			got := out.String()
			bs := blocks(got)
			if len(bs) != 1 || !strings.HasPrefix(bs[0], "trace "+traceID+"  2 spans") {
				t.Fatalf("want one block for trace %s with its 2 spans:\n%s", traceID, got)
			}
			rows := strings.Split(bs[0], "\n")
			if len(rows) < 3 || !strings.HasPrefix(rows[1], "  orders  POST (parent missing)") || !strings.HasPrefix(rows[2], "  orders    └ charge") {
				t.Errorf("want the server span as root, marked parent missing, and charge under it:\n%s", got)
			}
			if st := printer.Stats(); st.Incomplete != 0 || strings.Contains(got, "incomplete") {
				t.Errorf("printed as incomplete (stats %+v):\n%s", st, got)
			}
		})
	}
}
