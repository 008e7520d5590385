package waterfall_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// syncBuffer collects what a Printer writes; Printer writes from its own goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// blocks splits the output into what each Write made: one trace, or one notice.
func blocks(out string) []string {
	var bs []string
	for _, b := range strings.Split(out, "\n\n") {
		if b = strings.TrimSpace(b); b != "" {
			bs = append(bs, b)
		}
	}
	return bs
}

// serve starts h on loopback and returns its URL and a stop function.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-done
	})
	return "http://" + ln.Addr().String()
}

func install(t *testing.T, service string, opts ...ctxtrail.Option) *ctxtrail.Provider {
	t.Helper()
	p, err := ctxtrail.Install(context.Background(), append([]ctxtrail.Option{ctxtrail.WithServiceName(service), ctxtrail.WithoutGlobal()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func logger(p *ctxtrail.Provider) *zapbridge.Logger {
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
	return zapbridge.New(zap.New(core), zapbridge.WithWaterfall(p.Waterfall()))
}

// Two services in one process share a Printer: a request's spans from both, across a real
// HTTP hop on loopback, print as one trace — the server span of the second service drawn under
// the client span of the first — with the log lines of that request from both and no other's.
func TestPrinterOneTraceAcrossAnHTTPHop(t *testing.T) {
	var out syncBuffer
	printer := waterfall.New(&out)
	defer printer.Shutdown(context.Background())
	front := install(t, "front", ctxtrail.WithWaterfall(printer))
	back := install(t, "back", ctxtrail.WithWaterfall(printer))
	if front.Waterfall() != printer || back.Waterfall() != printer {
		t.Fatal("Provider.Waterfall is not the Printer given to WithWaterfall")
	}
	flog, blog := logger(front), logger(back)

	backURL := serve(t, httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("who")
		_ = spans.Run(r.Context(), "lookup", func(ctx context.Context) error {
			blog.Ctx(ctx).Info("looked up", zap.String("who", who))
			return nil
		})
		if who == "mallory" {
			http.Error(w, "no", http.StatusPaymentRequired)
			return
		}
		fmt.Fprint(w, "ok")
	}), httpctx.WithProvider(back)))
	client := &http.Client{Transport: httpctx.NewTransport(nil, httpctx.WithProvider(front))}
	frontURL := serve(t, httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("who")
		flog.Ctx(r.Context()).Info("asking back", zap.String("who", who))
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backURL+"/lookup?who="+who, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}), httpctx.WithProvider(front)))

	// Requests of different users at once: each trace must get only its own lines.
	users := []string{"alice", "bob", "mallory", "carol"}
	traceOf := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, who := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(frontURL + "/?who=" + who)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			traceOf[who] = resp.Header.Get(propagators.HeaderTraceID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The server span ends after the response is written: wait for the roots, then flush.
	waitFor(t, func() bool { return printer.Stats().Traces == uint64(len(users)) }, &out)

	bs := blocks(out.String())
	if len(bs) != len(users) {
		t.Fatalf("%d blocks printed, want one per request:\n%s", len(bs), out.String())
	}
	for _, who := range users {
		var b string
		for _, x := range bs {
			if strings.HasPrefix(x, "trace "+traceOf[who]) {
				b = x
			}
		}
		if b == "" {
			t.Fatalf("no trace %s for %s:\n%s", traceOf[who], who, out.String())
		}
		rows := strings.Split(b, "\n")
		wantRows := []string{"front  GET", "front    └ GET", "back       └ GET", "back         └ lookup"}
		for i, w := range wantRows {
			if i+1 >= len(rows) || !strings.HasPrefix(rows[i+1], "  "+w) {
				t.Errorf("%s: row %d, want prefix %q:\n%s", who, i+1, w, b)
			}
		}
		if !strings.HasPrefix(rows[0], "trace "+traceOf[who]+"  4 spans") {
			t.Errorf("%s: header %q", who, rows[0])
		}
		if who == "mallory" {
			if !strings.Contains(b, "✗ 402 Payment Required") || !strings.Contains(rows[0], "1 error") {
				t.Errorf("the client span's 402 is not shown as its reason:\n%s", b)
			}
		} else if strings.Contains(b, "✗") {
			t.Errorf("%s: error mark on a good request:\n%s", who, b)
		}
		for _, line := range []string{"front  info   asking back  who=" + who, "back   info   looked up  who=" + who} {
			if !strings.Contains(b, line) {
				t.Errorf("%s: lacks log line %q:\n%s", who, line, b)
			}
		}
		if n := strings.Count(b, " info "); n != 2 {
			t.Errorf("%s: %d log lines, want its own 2:\n%s", who, n, b)
		}
	}
	if st := printer.Stats(); st.SpansDropped+st.LinesDropped+st.Incomplete+st.Late != 0 || st.SpansQueued != 16 || st.LinesQueued != 8 {
		t.Errorf("stats %+v", st)
	}
}

// waitFor polls cond (bounded) and fails with the output so far if it never holds.
func waitFor(t *testing.T, cond func() bool, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 10s; output:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OTEL_TRACES_EXPORTER=ctxtrail-waterfall picks the printer; without a shared Printer each
// process (here: each Provider) prints the part of the trace it saw, rooted at its server span.
func TestInstallPicksWaterfallFromEnv(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "ctxtrail-waterfall")
	var out syncBuffer
	p := install(t, "solo", ctxtrail.WithWriter(&out))
	if p.Waterfall() == nil || strings.Join(p.Exporters(), ",") != ctxtrail.ExporterWaterfall {
		t.Fatalf("exporters %v, waterfall %v", p.Exporters(), p.Waterfall())
	}
	ctx, root := p.Tracer("t").Start(context.Background(), "job")
	_ = spans.Run(ctx, "step", func(context.Context) error { return nil })
	root.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Printed at the root's end, not at Shutdown.
	if got := out.String(); !strings.Contains(got, "solo  job") || !strings.Contains(got, "solo    └ step") {
		t.Fatalf("after ForceFlush:\n%s", got)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Waterfall().Stats(); st.Traces != 1 || st.Incomplete != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConsoleWritesSoon(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   string
		opts  []ctxtrail.Option
		early bool
	}{
		{"default delay", "", nil, true},
		{"OTEL_BSP_SCHEDULE_DELAY wins", "60000", nil, false},
		{"WithBatchOptions wins", "", []ctxtrail.Option{ctxtrail.WithBatchOptions(sdktrace.WithBatchTimeout(time.Minute))}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", tt.env)
			var out syncBuffer
			p := install(t, "c", append([]ctxtrail.Option{ctxtrail.WithExporterName(ctxtrail.ExporterConsole), ctxtrail.WithWriter(&out)}, tt.opts...)...)
			_, s := p.Tracer("t").Start(context.Background(), "op")
			s.End()
			// Polled, not timed: the short delay writes well within 10 s; a minute's never does.
			deadline := time.Now().Add(10 * ctxtrail.ConsoleScheduleDelay)
			for out.String() == "" && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := out.String() != ""; got != tt.early {
				t.Fatalf("written within %v: %v, want %v", 10*ctxtrail.ConsoleScheduleDelay, got, tt.early)
			}
		})
	}
}

// newTP returns a tracer provider feeding printer, shut down with the test.
func newTP(t *testing.T, printer *waterfall.Printer) trace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(printer))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("t")
}

func TestPrinterBounds(t *testing.T) {
	t.Run("spans per trace", func(t *testing.T) {
		var out syncBuffer
		printer := waterfall.New(&out, waterfall.WithMaxSpans(3))
		tr := newTP(t, printer)
		ctx, root := tr.Start(context.Background(), "root")
		for i := range 10 {
			_, s := tr.Start(ctx, fmt.Sprint("child ", i))
			s.End()
		}
		root.End()
		if err := printer.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, "4 spans") || !strings.Contains(got, "(+7 spans not kept)") || strings.Contains(got, "child 3") {
			t.Errorf("output:\n%s", got)
		}
		if !strings.Contains(got, "7 spans past the cap of 3 per trace") {
			t.Errorf("no notice of the spans past the cap:\n%s", got)
		}
		if st := printer.Stats(); st.SpansOverCap != 7 || st.Traces != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("lines per trace", func(t *testing.T) {
		var out syncBuffer
		printer := waterfall.New(&out, waterfall.WithMaxLines(2))
		tr := newTP(t, printer)
		_, root := tr.Start(context.Background(), "root")
		for i := range 5 {
			printer.Log(waterfall.Line{TraceID: root.SpanContext().TraceID(), SpanID: root.SpanContext().SpanID(), Level: "info", Message: fmt.Sprint("line ", i)})
		}
		printer.Log(waterfall.Line{Level: "info", Message: "no trace: ignored"})
		root.End()
		if err := printer.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, "line 1") || strings.Contains(got, "line 2") || !strings.Contains(got, "… 3 more log lines not kept") {
			t.Errorf("output:\n%s", got)
		}
		if st := printer.Stats(); st.LinesOverCap != 3 || st.LinesQueued != 5 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("traces open", func(t *testing.T) {
		var out syncBuffer
		printer := waterfall.New(&out, waterfall.WithMaxTraces(2))
		tr := newTP(t, printer)
		var roots []trace.Span
		for i := range 3 { // three requests that never end, each with a child that did
			ctx, root := tr.Start(context.Background(), fmt.Sprint("request ", i))
			_, c := tr.Start(ctx, fmt.Sprint("step ", i))
			c.End()
			roots = append(roots, root)
		}
		if err := printer.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, "step 0 (parent missing)") || !strings.Contains(got, "incomplete: pushed out, more than 2 traces open") || strings.Contains(got, "step 1") {
			t.Errorf("after the third trace:\n%s", got)
		}
		if err := printer.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		got = out.String()
		if strings.Count(got, "incomplete: its local root had not ended at shutdown") != 2 {
			t.Errorf("after shutdown:\n%s", got)
		}
		if st := printer.Stats(); st.Traces != 3 || st.Incomplete != 3 {
			t.Errorf("stats %+v", st)
		}
		for _, r := range roots {
			r.End() // after Shutdown: counted as dropped, nothing printed
		}
		if st := printer.Stats(); st.SpansDropped != 3 {
			t.Errorf("spans ended after shutdown: stats %+v", st)
		}
	})
	t.Run("age", func(t *testing.T) {
		var out syncBuffer
		printer := waterfall.New(&out, waterfall.WithMaxAge(20*time.Millisecond))
		defer printer.Shutdown(context.Background())
		tr := newTP(t, printer)
		ctx, root := tr.Start(context.Background(), "hung request")
		defer root.End()
		_, c := tr.Start(ctx, "db call")
		c.End()
		waitFor(t, func() bool { return printer.Stats().Incomplete == 1 }, &out)
		if got := out.String(); !strings.Contains(got, "db call (parent missing)") || !strings.Contains(got, "its local root had not ended after 20ms") {
			t.Errorf("output:\n%s", got)
		}
	})
	t.Run("late span", func(t *testing.T) {
		var out syncBuffer
		printer := waterfall.New(&out)
		tr := newTP(t, printer)
		ctx, root := tr.Start(context.Background(), "request")
		_, task := tr.Start(ctx, "detached task")
		root.End()
		if err := printer.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		task.End()
		if err := printer.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !strings.Contains(got, `late: span "detached task"`) || strings.Contains(got, "incomplete") {
			t.Errorf("output:\n%s", got)
		}
		if st := printer.Stats(); st.Late != 1 || st.Traces != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// gate is a writer that blocks until opened, as a terminal whose reader went away would.
type gate struct {
	open chan struct{}
	out  syncBuffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	return g.out.Write(p)
}

// A full queue drops and counts, never blocks the span's goroutine, and says so on the output
// once the printer can write again.
func TestPrinterQueueFull(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	printer := waterfall.New(g, waterfall.WithQueueSize(4))
	tr := newTP(t, printer)
	for i := range 50 {
		_, s := tr.Start(context.Background(), fmt.Sprint("span ", i))
		s.End() // must return although the printer is stuck writing
		printer.Log(waterfall.Line{TraceID: s.SpanContext().TraceID(), Level: "info", Message: "x"})
	}
	st := printer.Stats()
	if st.SpansDropped == 0 || st.LinesDropped == 0 || st.SpansQueued+st.SpansDropped != 50 || st.LinesQueued+st.LinesDropped != 50 {
		t.Fatalf("stats %+v", st)
	}
	close(g.open)
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := g.out.String(); !strings.Contains(got, "spans dropped (queue full)") {
		t.Errorf("no notice of the drops:\n%s", got)
	}
}

// Shutdown returns by its deadline even when the output blocks.
func TestPrinterShutdownDeadline(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	printer := waterfall.New(g)
	tr := newTP(t, printer)
	_, s := tr.Start(context.Background(), "op")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := printer.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with a stuck writer returned no error")
	}
	if err := printer.ForceFlush(context.Background()); err == nil {
		t.Fatal("ForceFlush after Shutdown returned no error")
	}
	close(g.open) // let the goroutine finish its write and stop, for goleak
	waitForDone := time.Now().Add(5 * time.Second)
	for printer.Stats().Traces == 0 && time.Now().Before(waitForDone) {
		time.Sleep(time.Millisecond)
	}
}

// Many goroutines ending spans and logging at once: every queued span is printed in a trace,
// nothing is lost without being counted.
func TestPrinterConcurrent(t *testing.T) {
	var out syncBuffer
	printer := waterfall.New(&out, waterfall.WithQueueSize(1<<16))
	tr := newTP(t, printer)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ctx, root := tr.Start(context.Background(), fmt.Sprintf("req %d/%d", g, i))
				_, c := tr.Start(ctx, "child")
				sc := c.SpanContext()
				printer.Log(waterfall.Line{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Level: "info", Message: "hello",
					Attrs: []attribute.KeyValue{attribute.Int("i", i)}})
				c.End()
				root.End()
			}
		}()
	}
	wg.Wait()
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := printer.Stats()
	if st.Traces != 400 || st.Incomplete != 0 || st.SpansQueued != 800 || st.LinesQueued != 400 {
		t.Fatalf("stats %+v", st)
	}
	if n := strings.Count(out.String(), "info   hello"); n != 400 {
		t.Fatalf("%d lines printed, want 400", n)
	}
}

// A server span of another service in the process can end after its caller has had the answer
// (gRPC ends it after writing the status): the trace waits for it instead of printing twice.
func TestPrinterWaitsForAHopThatEndsLate(t *testing.T) {
	var out syncBuffer
	printer := waterfall.New(&out)
	front, back := newTP(t, printer), newTP(t, printer)

	ctx, root := front.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer))
	cctx, call := front.Start(ctx, "charge", trace.WithSpanKind(trace.SpanKindClient))
	sctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.SpanContextFromContext(cctx))
	_, served := back.Start(sctx, "Payments/Charge", trace.WithSpanKind(trace.SpanKindServer))
	call.End()
	root.End()
	if err := printer.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "" {
		t.Fatalf("printed while a hop was still running:\n%s", got)
	}
	served.End()
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs := blocks(out.String())
	if len(bs) != 1 || !strings.Contains(bs[0], "3 spans") || !strings.Contains(bs[0], "      └ Payments/Charge") || strings.Contains(bs[0], "incomplete") {
		t.Fatalf("want one complete trace with the hop under its client span:\n%s", out.String())
	}
}
