package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/zapbridge"
)

// The topology: front (GET /work) calls back (GET /echo) through httpctx.NewTransport. Both log
// through zapbridge, run a child span with spans.Run, and front leaves breadcrumbs and does work
// on a goroutine that is not handed the request's context. It stands in for the shop example,
// whose SQLite would dominate at 256 concurrency.

// spansPerRequest is what one request ends: front server span, front.work, the client span,
// back server span, back.work.
const spansPerRequest = 5

// reqIDAttr is set on front.work and back.work to the request ID the handler sees.
const reqIDAttr = attribute.Key("test.request_id")

// tracePrefix marks the trace IDs the load generator makes; a fresh trace never has it (but
// with odds of 2^-32).
const tracePrefix = "7e570000"

func traceIDFor(n int) string   { return fmt.Sprintf("%s%024x", tracePrefix, n) }
func requestIDFor(n int) string { return "req-" + strconv.Itoa(n) }

// Every request differs from its neighbours in each field the context carries, so that a field
// of one request showing on another's line is seen: its method, its path (/work/{n}, then
// /echo/{n} on back), a store field test.n added by the handler, and a baggage member test.user.
// The client also sends n in x-test-n, which the handlers log as an explicit field (want_n): the
// one value that does not travel through the context.
const (
	nHeader     = "x-test-n"
	nField      = "test.n"
	userMember  = "test.user"
	sharedField = "service.instance" // set on the server's base context: every request's store starts from it
)

func methodFor(n int) string {
	return [...]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}[n%4]
}
func userFor(n string) string { return "u" + n }

// requestNum returns n for a request ID made by requestIDFor.
func requestNum(id string) (int, bool) {
	s, ok := strings.CutPrefix(id, "req-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// bleeds counts every place a request's IDs turned up where they do not belong.
type bleeds struct {
	logs, spans, headers, crumbs, detached, fresh atomic.Int64
	mu                                            sync.Mutex
	first                                         []string // the first few, for the failure message
}

func (b *bleeds) add(c *atomic.Int64, format string, args ...any) {
	c.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.first) < 10 {
		b.first = append(b.first, fmt.Sprintf(format, args...))
	}
}

func (b *bleeds) total() int64 {
	return b.logs.Load() + b.spans.Load() + b.headers.Load() + b.crumbs.Load() + b.detached.Load() + b.fresh.Load()
}

// logCheck is a zap WriteSyncer that checks each JSON line as it is written, keeping nothing.
type logCheck struct {
	b     *bleeds
	lines atomic.Int64
}

type logLine struct {
	Msg       string `json:"msg"`
	TraceID   string `json:"trace_id"`
	RequestID string `json:"request_id"`
	WantN     string `json:"want_n"`
	Method    string `json:"http.request.method"`
	Path      string `json:"url.path"`
	N         string `json:"test.n"`
	User      string `json:"test.user"`
	Instance  string `json:"service.instance"`
}

// checkFields reports a line whose context fields belong to another request than want_n.
func (l *logCheck) checkFields(ln *logLine, p []byte) {
	n, err := strconv.Atoi(ln.WantN)
	if err != nil {
		l.b.add(&l.b.logs, "request log line without want_n: %s", p)
		return
	}
	path := "/work/" + ln.WantN
	if strings.HasPrefix(ln.Msg, "back.") {
		path = "/echo/" + ln.WantN
	}
	if ln.Method != methodFor(n) || ln.Path != path || ln.N != ln.WantN || ln.User != userFor(ln.WantN) || ln.Instance == "" {
		l.b.add(&l.b.logs, "log line of request %d carries another's fields: %s", n, p)
	}
	if id, ok := requestNum(ln.RequestID); ok && id != n {
		l.b.add(&l.b.logs, "log line of request %d carries request ID %s", n, ln.RequestID)
	}
}

func (l *logCheck) Write(p []byte) (int, error) {
	var ln logLine
	if err := json.Unmarshal(p, &ln); err != nil {
		l.b.add(&l.b.logs, "unparsable log line %q: %v", p, err)
		return len(p), nil
	}
	l.lines.Add(1)
	if ln.Msg != "detached" {
		l.checkFields(&ln, p)
	}
	switch {
	case ln.Msg == "detached":
		if ln.TraceID != "" || ln.RequestID != "" {
			l.b.add(&l.b.detached, "detached log line carries trace %q request %q", ln.TraceID, ln.RequestID)
		}
	case ln.TraceID == "" || ln.RequestID == "":
		l.b.add(&l.b.logs, "request log line without IDs: %s", p)
	default:
		if n, ok := requestNum(ln.RequestID); ok {
			if ln.TraceID != traceIDFor(n) {
				l.b.add(&l.b.logs, "log line of %s carries trace %s", ln.RequestID, ln.TraceID)
			}
		} else if strings.HasPrefix(ln.TraceID, tracePrefix) {
			l.b.add(&l.b.logs, "log line of fresh request %s carries load trace %s", ln.RequestID, ln.TraceID)
		}
	}
	return len(p), nil
}

func (l *logCheck) Sync() error { return nil }

// spanCheck is a span exporter that checks each span's request ID against its trace and counts
// spans per load trace.
type spanCheck struct {
	b      *bleeds
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

func newSpanCheck(b *bleeds) *spanCheck { return &spanCheck{b: b, counts: map[string]int{}} }

func (s *spanCheck) ExportSpans(_ context.Context, ss []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range ss {
		s.total.Add(1)
		tid := sp.SpanContext().TraceID().String()
		if strings.HasPrefix(tid, tracePrefix) {
			s.counts[tid]++
		}
		for _, kv := range sp.Attributes() {
			if kv.Key != reqIDAttr {
				continue
			}
			if n, ok := requestNum(kv.Value.AsString()); ok && tid != traceIDFor(n) {
				s.b.add(&s.b.spans, "span %s of %s is in trace %s", sp.Name(), kv.Value.AsString(), tid)
			}
			if _, ok := requestNum(kv.Value.AsString()); !ok && strings.HasPrefix(tid, tracePrefix) {
				s.b.add(&s.b.spans, "span %s of fresh request %s is in load trace %s", sp.Name(), kv.Value.AsString(), tid)
			}
		}
	}
	return nil
}

func (s *spanCheck) Shutdown(context.Context) error { return nil }

// service is one HTTP server of the topology with its own tracer provider.
type service struct {
	p    *ctxtrail.Provider
	srv  *http.Server
	url  string
	log  *zapbridge.Logger
	tr   *http.Transport // front's transport to back; nil for back
	wg   sync.WaitGroup  // detached work
	base context.Context // the server's base context: no request's values
	done chan struct{}
}

// echo is what back answers: the IDs it received.
type echo struct {
	TraceID   string `json:"trace_id"`
	RequestID string `json:"request_id"`
	Baggage   string `json:"baggage"`
}

// answer is what front answers.
type answer struct {
	RequestID string `json:"request_id"`
	TraceID   string `json:"trace_id"`
	Back      echo   `json:"back"`
	Crumbs    int    `json:"crumbs"`
	BadCrumbs int    `json:"bad_crumbs"`
}

type topology struct {
	front, back *service
}

func newLogger(w zapcore.WriteSyncer) *zapbridge.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zapbridge.New(zap.New(zapcore.NewCore(enc, w, zapcore.InfoLevel)), zapbridge.WithBaggageMembers(userMember))
}

// startTopology starts back then front on loopback, each with its own provider made from opts.
func startTopology(logs zapcore.WriteSyncer, opts ...ctxtrail.Option) (*topology, error) {
	back, err := startService("back", logs, nil, opts)
	if err != nil {
		return nil, err
	}
	front, err := startService("front", logs, back, opts)
	if err != nil {
		_ = back.close(context.Background())
		return nil, err
	}
	return &topology{front: front, back: back}, nil
}

func startService(name string, logs zapcore.WriteSyncer, back *service, opts []ctxtrail.Option) (*service, error) {
	p, err := ctxtrail.Install(context.Background(),
		append([]ctxtrail.Option{ctxtrail.WithoutGlobal(), ctxtrail.WithServiceName(name)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = p.Shutdown(context.Background())
		return nil, fmt.Errorf("listen %s: %w", name, err)
	}
	s := &service{p: p, url: "http://" + ln.Addr().String(), log: newLogger(logs), done: make(chan struct{})}
	mux := http.NewServeMux()
	if back == nil {
		mux.HandleFunc("/echo/{n}", s.echo)
	} else {
		s.tr = &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
		client := &http.Client{Transport: httpctx.NewTransport(s.tr, httpctx.WithProvider(p)), Timeout: 30 * time.Second}
		mux.HandleFunc("/work/{n}", func(w http.ResponseWriter, r *http.Request) { s.work(w, r, client, back.url) })
	}
	// A context with none of any request's values: what detached work runs under. It carries one
	// store field, so every request's store is made from a shared parent.
	base, cancel := context.WithCancel(otelctx.AddFields(context.Background(), attribute.String(sharedField, name)))
	s.base = base
	s.srv = &http.Server{
		Handler:           httpctx.NewHandler(trail.NewHandler(mux), httpctx.WithProvider(p)),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	go func() {
		defer close(s.done)
		defer cancel()
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *service) echo(w http.ResponseWriter, r *http.Request) {
	ctx := otelctx.AddFields(r.Context(), attribute.String(nField, r.PathValue("n")))
	s.log.Ctx(ctx).Info("back.echo", zap.String("want_n", r.Header.Get(nHeader)))
	var e echo
	_ = spans.Run(ctx, "back.work", func(ctx context.Context) error {
		trace.SpanFromContext(ctx).SetAttributes(reqIDAttr.String(otelctx.RequestID(ctx)))
		if tp := r.Header.Get("traceparent"); len(tp) == 55 {
			e.TraceID = tp[3:35]
		}
		e.RequestID = r.Header.Get("x-request-id")
		e.Baggage = r.Header.Get("baggage")
		return nil
	}, spans.WithTracerProvider(s.p.TracerProvider()))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e)
}

func (s *service) work(w http.ResponseWriter, r *http.Request, client *http.Client, backURL string) {
	n := r.PathValue("n")
	ctx := otelctx.AddFields(r.Context(), attribute.String(nField, n))
	rid := otelctx.RequestID(ctx)
	wantN := zap.String("want_n", r.Header.Get(nHeader))
	s.log.Ctx(ctx).Info("front.start", wantN)
	trail.AddBreadcrumb(ctx, "front.start", reqIDAttr.String(rid))

	// Work on a goroutine not handed the request's context: it must see no request at all.
	s.wg.Add(1)
	go func(base context.Context) {
		defer s.wg.Done()
		s.log.Ctx(base).Info("detached")
	}(s.base)

	var a answer
	err := spans.Run(ctx, "front.work", func(ctx context.Context) error {
		trace.SpanFromContext(ctx).SetAttributes(reqIDAttr.String(rid))
		trail.AddBreadcrumb(ctx, "front.call", reqIDAttr.String(rid))
		req, err := http.NewRequestWithContext(ctx, r.Method, backURL+"/echo/"+n, nil)
		if err != nil {
			return err
		}
		req.Header.Set(nHeader, r.Header.Get(nHeader))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("back answered %s", resp.Status)
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a.Back)
	}, spans.WithTracerProvider(s.p.TracerProvider()))
	if err != nil {
		s.log.Ctx(ctx).Error("front.call", zap.Error(err), wantN)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, c := range trail.FromContext(ctx).Breadcrumbs() {
		a.Crumbs++
		for _, kv := range c.Data {
			if kv.Key == reqIDAttr && kv.Value.AsString() != rid {
				a.BadCrumbs++
			}
		}
	}
	s.log.Ctx(ctx).Info("front.done", wantN)
	a.RequestID = rid
	a.TraceID = spans.TraceID(ctx)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

// close stops taking requests, waits for those in flight and detached work, then shuts the
// provider down with ctx.
func (s *service) close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	s.wg.Wait()
	if s.tr != nil {
		s.tr.CloseIdleConnections()
	}
	return errors.Join(err, s.p.Shutdown(ctx))
}

func (t *topology) close(ctx context.Context) error {
	return errors.Join(t.front.close(ctx), t.back.close(ctx))
}

// loadResult is what a load run measured.
type loadResult struct {
	requests, failed int
	latencies        []time.Duration
	peakHeap         uint64
	elapsed          time.Duration
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// runLoad sends n requests to front with the given concurrency over one keep-alive client,
// checking each answer, and stops at ctx's deadline. Every fourth request carries no IDs and must
// get fresh ones.
func runLoad(ctx context.Context, t *topology, n, concurrency int, b *bleeds) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	stopPeak := watchHeap()
	start := time.Now()
	var (
		next   atomic.Int64
		failed atomic.Int64
		lat    = make([]time.Duration, n)
		wg     sync.WaitGroup
		errMu  sync.Mutex
		first  error
	)
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				err := oneRequest(ctx, client, t.front.url, i, b)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res := loadResult{requests: min(int(next.Load()), n), failed: int(failed.Load()), elapsed: time.Since(start)}
	res.peakHeap = stopPeak()
	res.latencies = lat[:res.requests]
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load stopped after %d of %d requests: %w", res.requests, n, err)
	}
	return res, first
}

func oneRequest(ctx context.Context, client *http.Client, url string, i int, b *bleeds) error {
	req, err := http.NewRequestWithContext(ctx, methodFor(i), url+"/work/"+strconv.Itoa(i), nil)
	if err != nil {
		return err
	}
	req.Header.Set(nHeader, strconv.Itoa(i))
	req.Header.Set("baggage", userMember+"="+userFor(strconv.Itoa(i)))
	withIDs := i%4 != 3
	if withIDs {
		req.Header.Set("traceparent", "00-"+traceIDFor(i)+"-00f067aa0ba902b7-01")
		req.Header.Set("x-request-id", requestIDFor(i))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("request %d: %w", i, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("request %d: %s: %s", i, resp.Status, body)
	}
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return fmt.Errorf("request %d: decode answer: %w", i, err)
	}
	hdrTrace, hdrReq := resp.Header.Get("x-trace-id"), resp.Header.Get("x-request-id")
	if withIDs {
		want, wantReq := traceIDFor(i), requestIDFor(i)
		if a.TraceID != want || hdrTrace != want || a.RequestID != wantReq || hdrReq != wantReq {
			b.add(&b.headers, "request %d answered trace %s/%s request %s/%s", i, a.TraceID, hdrTrace, a.RequestID, hdrReq)
		}
	} else if strings.HasPrefix(a.TraceID, tracePrefix) || strings.HasPrefix(a.RequestID, "req-") ||
		a.TraceID != hdrTrace || a.RequestID != hdrReq || a.TraceID == "" || a.RequestID == "" {
		b.add(&b.fresh, "request %d without IDs got trace %s request %s", i, a.TraceID, a.RequestID)
	}
	if want := userMember + "=" + userFor(strconv.Itoa(i)); a.Back.Baggage != want {
		b.add(&b.headers, "request %d sent back baggage %q, want %q", i, a.Back.Baggage, want)
	}
	if a.Back.TraceID != a.TraceID || a.Back.RequestID != a.RequestID {
		b.add(&b.headers, "request %d (%s %s) sent back trace %s request %s", i, a.TraceID, a.RequestID, a.Back.TraceID, a.Back.RequestID)
	}
	if a.BadCrumbs > 0 || a.Crumbs != 2 {
		b.add(&b.crumbs, "request %d: %d breadcrumbs, %d of another request", i, a.Crumbs, a.BadCrumbs)
	}
	return nil
}

// watchHeap samples the live heap every 10 ms until the returned func is called, which returns
// the peak seen.
func watchHeap() (stop func() uint64) {
	var peak atomic.Uint64
	sample := func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(quit)
		<-done
		sample()
		return peak.Load()
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func logf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
}
