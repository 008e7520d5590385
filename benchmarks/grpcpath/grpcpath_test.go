package grpcpath

import (
	"context"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// discard counts spans and drops them.
type discard struct{ spans atomic.Uint64 }

func (e *discard) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(uint64(len(s)))
	return nil
}
func (e *discard) Shutdown(context.Context) error { return nil }

// variant is one server + client pair on loopback.
type variant struct {
	name   string
	client testpb.TestServiceClient
	exp    *discard
	stop   func()
	cpu    time.Duration
	allocs uint64
	calls  int
}

func start(tb testing.TB, name string) *variant {
	tb.Helper()
	exp := &discard{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(16384)))
	var sopts []grpc.ServerOption
	var copts []grpc.DialOption
	switch name {
	case "bare":
	case "stats-nop":
		sopts = append(sopts, grpc.StatsHandler(nopHandler{}))
		copts = append(copts, grpc.WithStatsHandler(nopHandler{}))
	case "stats-nop-id":
		sopts = append(sopts, grpc.StatsHandler(nopHandler{}), grpc.ChainUnaryInterceptor(handEcho))
		copts = append(copts, grpc.WithStatsHandler(nopHandler{}), grpc.WithChainUnaryInterceptor(handForward))
	case "floor", "floor-noecho-noid": // floor_test.go
		tr := tp.Tracer("floor")
		sopts = append(sopts, grpc.StatsHandler(floorHandler{tracer: tr}))
		if name == "floor" {
			sopts = append(sopts, grpc.ChainUnaryInterceptor(floorEcho))
		}
		copts = append(copts, grpc.WithStatsHandler(floorHandler{tracer: tr, client: true}))
	case "otelgrpc":
		o := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
			otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))}
		sopts = append(sopts, grpc.StatsHandler(otelgrpc.NewServerHandler(o...)))
		copts = append(copts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(o...)))
	case "ctxtrail", "ctxtrail-noecho", "ctxtrail-xtrace", "ctxtrail-noecho-noid", "ctxtrail-handecho":
		// Install's default propagator (W3C trace context and baggage, x-headers).
		o := []grpcctx.Option{grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()), grpcctx.WithMeterProvider(noop.NewMeterProvider())}
		if name == "ctxtrail-xtrace" {
			o = append(o, grpcctx.WithXTraceHeaders())
		}
		switch {
		case name == "ctxtrail-noecho" || name == "ctxtrail-noecho-noid":
			sopts = append(sopts, grpc.StatsHandler(grpcctx.NewServerHandler(o...)))
		case name == "ctxtrail-handecho":
			sopts = append(sopts, grpc.StatsHandler(grpcctx.NewServerHandler(o...)), grpc.ChainUnaryInterceptor(handEcho))
		default:
			sopts = grpcctx.ServerOptions(o...)
		}
		copts = append(copts, grpc.WithStatsHandler(grpcctx.NewClientHandler(o...)))
	default:
		tb.Fatalf("no variant %q", name)
	}
	srv := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, echo{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), append(copts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		tb.Fatal(err)
	}
	v := &variant{name: name, client: testpb.NewTestServiceClient(conn), exp: exp}
	var once sync.Once
	v.stop = func() {
		once.Do(func() {
			conn.Close()
			srv.GracefulStop() // the last RPC's server span ends (stats End) before the provider flushes
			<-done
			_ = tp.Shutdown(context.Background())
		})
	}
	tb.Cleanup(v.stop)
	return v
}

var req = &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("a small request body")}}

func (v *variant) call(tb testing.TB, ctx context.Context) {
	if _, err := v.client.UnaryCall(ctx, req); err != nil {
		tb.Fatal(err)
	}
}

// variants: no instrumentation; otelgrpc; ctxtrail as the README shows it (ServerOptions, whose
// interceptors echo x-request-id, and NewClientHandler); its stats handlers alone, without the
// echo; and ServerOptions and NewClientHandler WithXTraceHeaders (x-trace-id and x-span-id on
// the request, x-trace-id echoed: the wire of ctxtrail's HTTP hops).
// stats-nop is a stats handler on each side that does nothing: what grpc-go itself spends once
// any stats handler is installed (the events, a copy of the incoming metadata for
// stats.InHeader), which every instrumented variant pays. stats-nop-id adds to it ctxtrail's
// request-ID contract written by hand, without tracing: x-request-id sent by a client
// interceptor and echoed by a server one (grpc.SetHeader), the floor of what grpc-go spends on
// the two metadata fields (issue 31). ctxtrail-noecho-noid is ctxtrail's handlers called
// without a request ID: no x-request-id on the wire either way, the same wire as otelgrpc's.
// ctxtrail-handecho is ctxtrail's handlers with stats-nop-id's hand-written echo in place of
// ServerOptions' interceptors: ctxtrail's echo against the hand-written one on the same
// handlers, the same wire.
var variants = []string{"bare", "stats-nop", "otelgrpc", "ctxtrail", "ctxtrail-noecho", "ctxtrail-xtrace",
	"stats-nop-id", "ctxtrail-noecho-noid", "ctxtrail-handecho", "floor", "floor-noecho-noid"}

// handForward and handEcho are stats-nop-id's request-ID contract, as a user would write it.
func handForward(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := otelctx.RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func handEcho(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if ids := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(ids) == 1 {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", ids[0]))
	}
	return handler(ctx, req)
}

// callCtxFor is the context variant name calls with: without a request ID for the -noid ones.
func callCtxFor(name string) context.Context {
	if strings.HasSuffix(name, "-noid") {
		return context.Background()
	}
	return callCtx()
}

// callCtx is the context of a call made from inside a service's request: it carries a request
// ID (which ctxtrail forwards and otelgrpc ignores).
func callCtx() context.Context {
	return otelctx.WithRequestID(context.Background(), "0af7651916cd43dd8448eb211c80319c")
}

// BenchmarkUnary: one variant per sub-benchmark (ns/op is wall time of one sequential call).
func BenchmarkUnary(b *testing.B) {
	for _, name := range variants {
		b.Run("config="+name, func(b *testing.B) {
			v := start(b, name)
			ctx := callCtx()
			for range 100 {
				v.call(b, ctx) // connect and warm up
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				v.call(b, ctx)
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkUnaryPaired interleaves the variants: b.N rounds, each running every variant for a
// block of calls, in a random order. It reports per call, for each variant, process CPU
// (cpu-ns) and heap allocations (allocs), and the per-round median of the ratios the goal
// names, ctxtrail's over otelgrpc's: on the whole call ("total") and on what each adds to the
// uninstrumented call of the same round ("overhead").
func BenchmarkUnaryPaired(b *testing.B) {
	const block = 200
	vs := make([]*variant, len(variants))
	for i, name := range variants {
		vs[i] = start(b, name)
		for range 200 {
			vs[i].call(b, callCtxFor(name))
		}
	}
	ratios := map[string][]float64{}
	b.ResetTimer()
	for range b.N {
		order := rand.Perm(len(vs))
		round := map[string][2]float64{}
		for _, i := range order {
			v := vs[i]
			runtime.GC() // each block starts from the same heap state
			ctx := callCtxFor(v.name)
			m0, c0 := mallocs(), cpuTime()
			for range block {
				v.call(b, ctx)
			}
			c, m := cpuTime()-c0, mallocs()-m0
			v.cpu += c
			v.allocs += m
			v.calls += block
			round[v.name] = [2]float64{float64(c), float64(m)}
		}
		bare, o, nop, floor := round["bare"], round["otelgrpc"], round["stats-nop"], round["stats-nop-id"]
		for _, name := range variants[3:] {
			if name == "stats-nop-id" {
				continue
			}
			c := round[name]
			for k, label := range []string{"cpu", "allocs"} {
				ratios[name+"/otelgrpc-"+label+"-total"] = append(ratios[name+"/otelgrpc-"+label+"-total"], c[k]/o[k])
				ratios[name+"/otelgrpc-"+label+"-overhead"] = append(ratios[name+"/otelgrpc-"+label+"-overhead"], (c[k]-bare[k])/(o[k]-bare[k]))
			}
		}
		for k, label := range []string{"cpu", "allocs"} {
			// The request-ID contract's share of otelgrpc's overhead, and ctxtrail's defaults
			// above that floor against otelgrpc above the bare stats handler (issue 31).
			ratios["contract/otelgrpc-"+label+"-overhead"] = append(ratios["contract/otelgrpc-"+label+"-overhead"], (floor[k]-nop[k])/(o[k]-bare[k]))
			ratios["ctxtrail-over-contract/otelgrpc-over-nop-"+label] = append(ratios["ctxtrail-over-contract/otelgrpc-over-nop-"+label], (round["ctxtrail"][k]-floor[k])/(o[k]-nop[k]))
			// ctxtrail's overhead against the floor's (floor_test.go), over the same bare call.
			ratios["ctxtrail/floor-"+label+"-overhead"] = append(ratios["ctxtrail/floor-"+label+"-overhead"], (round["ctxtrail"][k]-bare[k])/(round["floor"][k]-bare[k]))
			ratios["ctxtrail-noecho-noid/floor-noecho-noid-"+label+"-overhead"] = append(ratios["ctxtrail-noecho-noid/floor-noecho-noid-"+label+"-overhead"], (round["ctxtrail-noecho-noid"][k]-bare[k])/(round["floor-noecho-noid"][k]-bare[k]))
			// ctxtrail's own echo against the hand-written one, on ctxtrail's handlers.
			ratios["ctxtrail/ctxtrail-handecho-"+label+"-total"] = append(ratios["ctxtrail/ctxtrail-handecho-"+label+"-total"], round["ctxtrail"][k]/round["ctxtrail-handecho"][k])
		}
	}
	b.StopTimer()
	for _, v := range vs {
		b.ReportMetric(float64(v.cpu.Nanoseconds())/float64(v.calls), v.name+"-cpu-ns/call")
		b.ReportMetric(float64(v.allocs)/float64(v.calls), v.name+"-allocs/call")
	}
	reportMedians(b, ratios)
}

// TestVariantsTrace checks that the compared variants do the same tracing work: two spans per
// call (client and server), exported.
func TestVariantsTrace(t *testing.T) {
	for _, name := range variants[2:] {
		if name == "stats-nop-id" {
			continue
		}
		v := start(t, name)
		for range 10 {
			v.call(t, context.Background())
		}
		v.stop()
		if n := v.exp.spans.Load(); n != 20 {
			t.Errorf("%s: %d spans for 10 calls, want 20", name, n)
		}
	}
}

// nopHandler is a stats.Handler that does nothing.
type nopHandler struct{}

func (nopHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (nopHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (nopHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (nopHandler) HandleConn(context.Context, stats.ConnStats)                       {}

// reportMedians reports each ratio's median over the rounds, and no ns/op: a round is many calls
// of several variants, so its time means nothing on its own.
func reportMedians(b *testing.B, ratios map[string][]float64) {
	for k, r := range ratios {
		b.ReportMetric(pairbench.Median(r), k+"-median")
	}
	b.ReportMetric(0, "ns/op")
}

// TestEchoContract checks that ctxtrail's defaults, the hand-written contract (stats-nop-id,
// ctxtrail-handecho) and the floor do the same request-ID work on the wire: the caller's
// x-request-id reaches the server and comes back in the response header metadata; without one,
// ctxtrail and the floor echo the ID their server made; the -noid variants echo nothing.
func TestEchoContract(t *testing.T) {
	for _, name := range []string{"ctxtrail", "stats-nop-id", "ctxtrail-noecho-noid", "ctxtrail-handecho", "floor", "floor-noecho-noid"} {
		v := start(t, name)
		var hdr metadata.MD
		if _, err := v.client.UnaryCall(callCtxFor(name), req, grpc.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		got, want := hdr.Get("x-request-id"), []string{otelctx.RequestID(callCtx())}
		if strings.HasSuffix(name, "-noid") {
			want = nil
		}
		if len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
			t.Errorf("%s: echoed %q, want %q", name, got, want)
		}
		if name == "ctxtrail" || name == "floor" {
			hdr = nil
			if _, err := v.client.UnaryCall(context.Background(), req, grpc.Header(&hdr)); err != nil {
				t.Fatal(err)
			}
			if ids := hdr.Get("x-request-id"); len(ids) != 1 || !otelctx.ValidRequestID(ids[0]) {
				t.Errorf("%s without a caller's ID: echoed %q, want the server's new one", name, ids)
			}
		}
		v.stop()
	}
}
