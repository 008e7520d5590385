package grpcctx_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// filler returns metadata of about size bytes: fields of 16 KiB named x-filler-N.
func filler(size int) metadata.MD {
	md := metadata.MD{}
	for i := 0; size > 0; i++ {
		n := min(size, 16<<10)
		md.Append(fmt.Sprintf("x-filler-%d", i), strings.Repeat("a", n))
		size -= n
	}
	return md
}

// TestMetadataBound: a server built the documented way (grpc.NewServer(ServerOptions()...))
// bounds a call's metadata at DefaultMaxHeaderListSize, as the shop's HTTP servers bound their
// headers: a grpc-go client, told the bound, refuses to send 1 MiB (codes.Internal), and a
// client that ignores it has the call dropped before any handler runs. Calls under the bound,
// trace headers at their W3C limits included, pass.
func TestMetadataBound(t *testing.T) {
	r := startRig(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Under the bound: well past grpc-go's coming 8 KiB default, as W3C-sized tracestate and
	// baggage are.
	if _, err := r.client.EmptyCall(metadata.NewOutgoingContext(ctx, filler(48<<10)), &testpb.Empty{}); err != nil {
		t.Fatalf("a call with 48 KiB of metadata: %v", err)
	}
	r.call(t)

	_, err := r.client.EmptyCall(metadata.NewOutgoingContext(ctx, filler(1<<20)), &testpb.Empty{})
	if got := status.Code(err); got != codes.Internal {
		t.Errorf("a call with 1 MiB of metadata: code %v (%v), want Internal", got, err)
	}

	// A client that sends it anyway.
	if got := hugeHeadersCall(t, r.addr, "/grpc.testing.TestService/EmptyCall", 1<<20); strings.HasPrefix(got, "grpc-status 0") {
		t.Errorf("1 MiB of metadata sent past the advertised bound: %s, want the call refused", got)
	} else {
		t.Logf("1 MiB of metadata sent past the advertised bound: %s", got)
	}

	if _, err := r.client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Fatalf("a normal call after the refused ones: %v", err)
	}
	r.call(t)
	select {
	case s := <-r.svc.calls:
		t.Errorf("the handler ran for a refused call (%s)", s.method)
	default:
	}
}

// TestMetadataBoundOverride: grpc.MaxHeaderListSize after ServerOptions' options wins, as
// documented.
func TestMetadataBoundOverride(t *testing.T) {
	srv := grpc.NewServer(append(grpcctx.ServerOptions(), grpc.MaxHeaderListSize(2<<20))...)
	svc := &testService{calls: make(chan seen, 1)}
	testpb.RegisterTestServiceServer(srv, svc)
	addr := serveLoopback(t, srv)
	if got := hugeHeadersCall(t, addr, "/grpc.testing.TestService/EmptyCall", 1<<20); got != "grpc-status 0" {
		t.Errorf("1 MiB of metadata under a 2 MiB bound: %s, want grpc-status 0", got)
	}
}

// serveLoopback serves srv on 127.0.0.1 until the test ends, and returns its address.
func serveLoopback(t *testing.T, srv *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return lis.Addr().String()
}

// hugeHeadersCall sends one unary call to method over a raw HTTP/2 connection with size bytes
// of extra metadata, whatever limit the server advertises (a grpc-go client or net/http's
// HTTP/2 transport would refuse), and reports how it ended: "grpc-status N", "reset CODE",
// "goaway CODE" or "connection: ERR".
func hugeHeadersCall(t *testing.T, addr, method string, size int) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}

	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", method}, {":authority", addr},
		{"content-type", "application/grpc"}, {"te", "trailers"}}
	for k, vs := range filler(size) {
		for _, v := range vs {
			fields = append(fields, [2]string{k, v})
		}
	}
	for _, f := range fields {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			t.Fatal(err)
		}
	}
	// The server reads while it writes, so the header frames can all go out before any reading.
	const frameLen = 16 << 10 // the default SETTINGS_MAX_FRAME_SIZE
	b := block.Bytes()
	for first := true; first || len(b) > 0; first = false {
		chunk := b[:min(len(b), frameLen)]
		b = b[len(chunk):]
		if first {
			err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: chunk, EndHeaders: len(b) == 0})
		} else {
			err = fr.WriteContinuation(1, len(b) == 0, chunk)
		}
		if err != nil {
			return "connection: " + err.Error()
		}
	}
	if err := fr.WriteData(1, true, []byte{0, 0, 0, 0, 0}); err != nil { // one empty message
		return "connection: " + err.Error()
	}

	for range 1000 { // a handful of frames come back; the bound keeps a broken server from looping
		f, err := fr.ReadFrame()
		if err != nil {
			return "connection: " + err.Error()
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			return "goaway " + f.ErrCode.String()
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return "reset " + f.ErrCode.String()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			for _, hf := range f.Fields {
				if hf.Name == "grpc-status" {
					return "grpc-status " + hf.Value
				}
			}
		}
	}
	return "no answer"
}
