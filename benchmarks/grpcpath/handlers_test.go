package grpcpath

import (
	"context"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/pairbench"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/propagators"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// This file measures the instrumentation alone, without grpc-go's transport: the stats events
// grpc-go hands a client and a server handler for one unary RPC, in its order, with the outgoing
// metadata the client handler wrote becoming the server's incoming metadata, and the echo
// interceptor where ctxtrail's ServerOptions run it. What the handlers do is all that is
// measured (plus the SDK's span work and background export, the same for both).

// handlerPair is one instrumentation's client and server side.
type handlerPair struct {
	name     string
	cli, srv stats.Handler
	echo     grpc.UnaryServerInterceptor // nil: none
	exp      *discard
	tp       *sdktrace.TracerProvider
	cpu      time.Duration
	allocs   uint64
	calls    int
}

func newHandlerPair(tb testing.TB, name string) *handlerPair {
	exp := &discard{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(16384)))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p := &handlerPair{name: name, exp: exp, tp: tp}
	switch name {
	case "otelgrpc":
		o := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
			otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))}
		p.cli, p.srv = otelgrpc.NewClientHandler(o...), otelgrpc.NewServerHandler(o...)
	case "ctxtrail", "ctxtrail-noecho":
		o := []grpcctx.Option{grpcctx.WithTracerProvider(tp), grpcctx.WithPropagator(propagators.New()), grpcctx.WithMeterProvider(noop.NewMeterProvider())}
		p.cli, p.srv = grpcctx.NewClientHandler(o...), grpcctx.NewServerHandler(o...)
		if name == "ctxtrail" {
			p.echo = grpcctx.UnaryServerInterceptor(o...)
		}
	case "floor": // floor_test.go
		tr := tp.Tracer("floor")
		p.cli, p.srv, p.echo = floorHandler{tracer: tr, client: true}, floorHandler{tracer: tr}, floorEcho
	default:
		tb.Fatalf("no handler pair %q", name)
	}
	return p
}

// stream stands in for the server's transport stream: SetHeader merges as grpc-go's does.
type stream struct {
	grpc.ServerTransportStream
	hdr metadata.MD
}

func (s *stream) SetHeader(md metadata.MD) error { s.hdr = metadata.Join(s.hdr, md); return nil }

var (
	method  = "/grpc.testing.TestService/UnaryCall"
	local   = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50051}
	remote  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	payload = []byte("a small request body")
	okReply = func(context.Context, any) (any, error) { return nil, nil }
)

// rpc runs one unary RPC's stats events through both sides.
func (p *handlerPair) rpc(ctx context.Context) {
	now := time.Now()
	cctx := p.cli.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: method})
	p.cli.HandleRPC(cctx, &stats.Begin{Client: true, BeginTime: now})
	out, _ := metadata.FromOutgoingContext(cctx) // what the transport sends
	p.cli.HandleRPC(cctx, &stats.OutHeader{Client: true, FullMethod: method, RemoteAddr: remote, LocalAddr: local, Header: out})
	p.cli.HandleRPC(cctx, &stats.OutPayload{Client: true, Length: len(payload), SentTime: now})

	in := out.Copy()
	in[":authority"], in["content-type"] = []string{"127.0.0.1:50051"}, []string{"application/grpc"}
	sctx := metadata.NewIncomingContext(context.Background(), in)
	sctx = p.srv.TagRPC(sctx, &stats.RPCTagInfo{FullMethodName: method})
	p.srv.HandleRPC(sctx, &stats.InHeader{FullMethod: method, RemoteAddr: remote, LocalAddr: local, Header: in.Copy()})
	p.srv.HandleRPC(sctx, &stats.Begin{BeginTime: now})
	p.srv.HandleRPC(sctx, &stats.InPayload{Length: len(payload), RecvTime: now})
	st := &stream{}
	if p.echo != nil {
		_, _ = p.echo(grpc.NewContextWithServerTransportStream(sctx, st), nil, &grpc.UnaryServerInfo{FullMethod: method}, okReply)
	}
	p.srv.HandleRPC(sctx, &stats.OutHeader{Header: st.hdr})
	p.srv.HandleRPC(sctx, &stats.OutPayload{Length: len(payload), SentTime: now})
	p.srv.HandleRPC(sctx, &stats.OutTrailer{})
	p.srv.HandleRPC(sctx, &stats.End{BeginTime: now, EndTime: time.Now()})

	p.cli.HandleRPC(cctx, &stats.InHeader{Client: true, Header: st.hdr})
	p.cli.HandleRPC(cctx, &stats.InPayload{Client: true, Length: len(payload), RecvTime: now})
	p.cli.HandleRPC(cctx, &stats.InTrailer{Client: true})
	p.cli.HandleRPC(cctx, &stats.End{Client: true, BeginTime: now, EndTime: time.Now()})
}

// BenchmarkHandlersPaired is BenchmarkUnaryPaired for the handlers alone: b.N rounds, each
// running every pair for a block of RPCs in a random order, reporting process CPU and heap
// allocations per RPC and the per-round median of ctxtrail's over otelgrpc's. Everything here
// is overhead (there is no uninstrumented call to subtract), and the metadata copies and stats
// structs above, which grpc-go makes whatever handler is installed, are counted for both.
func BenchmarkHandlersPaired(b *testing.B) {
	const block = 500
	names := []string{"otelgrpc", "ctxtrail", "ctxtrail-noecho", "floor"}
	ps := make([]*handlerPair, len(names))
	ctx := callCtx()
	for i, name := range names {
		ps[i] = newHandlerPair(b, name)
		for range block {
			ps[i].rpc(ctx)
		}
	}
	ratios := map[string][]float64{}
	b.ResetTimer()
	for range b.N {
		round := map[string][2]float64{}
		for _, i := range rand.Perm(len(ps)) {
			p := ps[i]
			runtime.GC()
			m0, c0 := mallocs(), cpuTime()
			for range block {
				p.rpc(ctx)
			}
			c, m := cpuTime()-c0, mallocs()-m0
			p.cpu += c
			p.allocs += m
			p.calls += block
			round[p.name] = [2]float64{float64(c), float64(m)}
		}
		o := round["otelgrpc"]
		for _, name := range names[1:] {
			c := round[name]
			ratios[name+"/otelgrpc-cpu"] = append(ratios[name+"/otelgrpc-cpu"], c[0]/o[0])
			ratios[name+"/otelgrpc-allocs"] = append(ratios[name+"/otelgrpc-allocs"], c[1]/o[1])
		}
	}
	b.StopTimer()
	for _, p := range ps {
		b.ReportMetric(float64(p.cpu.Nanoseconds())/float64(p.calls), p.name+"-cpu-ns/rpc")
		b.ReportMetric(float64(p.allocs)/float64(p.calls), p.name+"-allocs/rpc")
	}
	reportMedians(b, ratios)
}

// TestHandlerPairsTrace checks that the handler pairs do the tracing work of a real RPC: two
// spans per RPC, the server's a child of the client's.
func TestHandlerPairsTrace(t *testing.T) {
	for _, name := range []string{"otelgrpc", "ctxtrail", "ctxtrail-noecho", "floor"} {
		p := newHandlerPair(t, name)
		ctx, parent := p.tp.Tracer("test").Start(context.Background(), "caller")
		cctx := p.cli.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: method})
		out, _ := metadata.FromOutgoingContext(cctx)
		sctx := p.srv.TagRPC(metadata.NewIncomingContext(context.Background(), out), &stats.RPCTagInfo{FullMethodName: method})
		if got, want := trace.SpanContextFromContext(sctx).TraceID(), parent.SpanContext().TraceID(); got != want {
			t.Errorf("%s: server span in trace %s, want %s", name, got, want)
		}
		parent.End()
		for range 10 {
			p.rpc(context.Background())
		}
		_ = p.tp.Shutdown(context.Background())
		if n := p.exp.spans.Load(); n != 21 {
			t.Errorf("%s: %d spans for 10 RPCs and a parent, want 21", name, n)
		}
	}
}

// BenchmarkHandlers runs one handler pair per sub-benchmark, for profiles.
func BenchmarkHandlers(b *testing.B) {
	for _, name := range []string{"otelgrpc", "ctxtrail", "ctxtrail-noecho", "floor"} {
		b.Run("pair="+name, func(b *testing.B) {
			p := newHandlerPair(b, name)
			ctx := callCtx()
			b.ReportAllocs()
			for b.Loop() {
				p.rpc(ctx)
			}
		})
	}
}

// evict walks a buffer larger than the L2 caches, so the RPC that follows finds little of its
// code and data in them, as an RPC in a busy server does (grpc-go's transport, the kernel and
// other calls run between two RPCs' handlers).
var evictBuf []byte

func evict() {
	if evictBuf == nil {
		evictBuf = make([]byte, 8<<20)
	}
	for i := 0; i < len(evictBuf); i += 64 {
		evictBuf[i]++
	}
}

// BenchmarkHandlersCold runs each pair's RPC right after evict, in turn, and reports the median
// wall time of one RPC (the eviction not counted) and the median of the per-round differences
// from the floor (issue 31: warm, ctxtrail's handlers cost what the floor's do; with cold caches
// what each touches counts).
func BenchmarkHandlersCold(b *testing.B) {
	names := []string{"ctxtrail", "floor", "otelgrpc"}
	ps := make([]*handlerPair, len(names))
	ctx := callCtx()
	for i, name := range names {
		ps[i] = newHandlerPair(b, name)
		for range 100 {
			ps[i].rpc(ctx)
		}
	}
	ts := make([][]float64, len(names))
	b.ResetTimer()
	for range b.N {
		for i, p := range ps {
			evict()
			t0 := time.Now()
			p.rpc(ctx)
			ts[i] = append(ts[i], float64(time.Since(t0)))
		}
	}
	b.StopTimer()
	for i, name := range names {
		b.ReportMetric(pairbench.Median(slices.Clone(ts[i])), name+"-cold-ns/rpc-median")
		if name != "floor" {
			d := make([]float64, len(ts[i]))
			for k := range d {
				d[k] = ts[i][k] - ts[1][k]
			}
			b.ReportMetric(pairbench.Median(d), name+"-minus-floor-ns/rpc-median")
		}
	}
	b.ReportMetric(0, "ns/op")
}
