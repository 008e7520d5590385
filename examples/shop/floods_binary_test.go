package shop_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/examples/shop"
)

// floodServices are the shop's HTTP services, with the downstream URL each needs to start (never
// called here). Payments serves gRPC.
var floodServices = []struct {
	name string
	env  []string
}{
	{shop.Frontend, []string{shop.EnvOrdersURL + "=http://127.0.0.1:1"}},
	{shop.Orders, []string{shop.EnvPaymentsURL + "=grpc://127.0.0.1:1"}},
}

// TestShopBinaryRefusesFloods builds cmd/shop and runs frontend and orders as the binary runs
// them (SHOP_SERVICE, SHOP_ADDR, the OTEL_* variables), then attacks each on loopback: a request
// with 128 KiB of headers, twice shop.MaxHeaderBytes, is answered 431 while one with 32 KiB is
// served, and a client that sends its headers one byte at a time is cut off by
// shop.ReadHeaderTimeout instead of holding its connection for as long as it likes. Besides, the
// server Service.NewServer builds carries both limits.
func TestShopBinaryRefusesFloods(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shop and waits out its header timeout (5 s)")
	}
	t.Run("configured", func(t *testing.T) {
		for _, svc := range floodServices {
			srv := floodNewServer(t, svc.name, svc.env)
			if srv.MaxHeaderBytes != shop.MaxHeaderBytes || srv.ReadHeaderTimeout != shop.ReadHeaderTimeout || srv.ReadHeaderTimeout <= 0 {
				t.Errorf("%s: MaxHeaderBytes %d, ReadHeaderTimeout %v; want %d and %v",
					svc.name, srv.MaxHeaderBytes, srv.ReadHeaderTimeout, shop.MaxHeaderBytes, shop.ReadHeaderTimeout)
			}
		}
	})

	bin := filepath.Join(t.TempDir(), "shop")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shop").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, svc := range floodServices {
		t.Run(svc.name, func(t *testing.T) {
			t.Parallel() // each waits out the header timeout once
			addr := floodStart(t, bin, svc.name, svc.env)
			t.Run("header flood", func(t *testing.T) {
				if got := floodRequest(t, addr, 8, 4<<10); got != "HTTP/1.1 200 OK" {
					t.Errorf("32 KiB of headers: answered %q, want 200", got)
				}
				if got := floodRequest(t, addr, 32, 2*shop.MaxHeaderBytes/32); !strings.HasPrefix(got, "HTTP/1.1 431 ") {
					t.Errorf("%d KiB of headers: answered %q, want 431 Request Header Fields Too Large", 2*shop.MaxHeaderBytes>>10, got)
				}
			})
			t.Run("slow headers", func(t *testing.T) { floodSlowHeaders(t, addr) })
		})
	}
}

// floodNewServer builds one service as cmd/shop does (without its globals) and returns the
// *http.Server that Service.NewServer gives it.
func floodNewServer(t *testing.T, name string, env []string) *http.Server {
	t.Helper()
	cfg := shop.Config{Service: name, Addr: "127.0.0.1:0"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case shop.EnvOrdersURL:
			cfg.OrdersURL = v
		case shop.EnvPaymentsURL:
			cfg.PaymentsURL = v
		}
	}
	ctx := context.Background()
	tel, err := shop.NewTelemetry(ctx, name, io.Discard, ctxtrail.WithoutGlobal(), ctxtrail.WithoutExporter(),
		ctxtrail.WithoutLogs(), ctxtrail.WithoutMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(ctx) })
	svc, err := shop.NewService(ctx, cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	srv, ok := svc.NewServer().(*http.Server)
	if !ok {
		t.Fatalf("%s: NewServer returned %T, want an *http.Server", name, svc.NewServer())
	}
	return srv
}

// floodStart runs the shop binary as service name on a free loopback port and returns the
// address it listens on. The process gets SIGTERM (then SIGKILL) when the test ends.
func floodStart(t *testing.T, bin, name string, env []string) string {
	t.Helper()
	dir := t.TempDir()
	stdout, stderr := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	outF, err := os.Create(stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close() // the child has its own descriptors
	errF, err := os.Create(stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		shop.EnvService+"="+name,
		shop.EnvAddr+"=127.0.0.1:0",
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = outF, errF
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; i < 600; i++ { // up to a minute, for a slow first start
		if addr := listeningAddr(stdout); addr != "" {
			return addr
		}
		select {
		case err := <-done:
			done <- err
			logs, _ := os.ReadFile(stderr)
			t.Fatalf("%s exited before listening: %v\n%s", name, err, logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not print its listening address", name)
	return ""
}

// floodRequest sends GET /debug/ctxtrail (the service's monitor) with n headers of size bytes
// each over a raw connection, and returns the status line of the answer, or what went wrong.
// The answer is read while the request is written: a server that refuses the headers answers
// before it has read them all, and may close while the rest is still being sent.
func floodRequest(t *testing.T, addr string, n, size int) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // bounds a hung server; not a timing check
	status := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			status <- fmt.Sprintf("no answer (%v) after %q", err, line)
			return
		}
		status <- strings.TrimRight(line, "\r\n")
	}()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "GET /debug/ctxtrail HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n")
	value := strings.Repeat("v", size)
	for i := range n {
		fmt.Fprintf(w, "X-Flood-%d: %s\r\n", i, value)
	}
	w.WriteString("\r\n")
	_ = w.Flush() // fails once a refusing server has closed: its answer is already on its way
	return <-status
}

// floodSlowHeaders sends a request's headers one byte every 100 ms on a raw connection and checks
// that the server closes the connection before the headers are complete, without answering (or
// with 408). The bytes are bounded (three times ReadHeaderTimeout's worth), not the time: a server
// that never cuts the client off fails once they are all sent.
func floodSlowHeaders(t *testing.T, addr string) {
	const every = 100 * time.Millisecond
	budget := int(3 * shop.ReadHeaderTimeout / every)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	// Bounds the reader below if the server never answers; far past the bytes' budget.
	_ = conn.SetReadDeadline(start.Add(3*shop.ReadHeaderTimeout + 30*time.Second))
	type answer struct {
		data []byte
		err  error
	}
	closed := make(chan answer, 1)
	go func() {
		data, err := io.ReadAll(conn)
		closed <- answer{data, err}
	}()
	check := func(a answer, sent int) {
		t.Logf("cut off after %d header bytes sent over %v (ReadHeaderTimeout %v)", sent, time.Since(start).Round(time.Millisecond), shop.ReadHeaderTimeout)
		if ne, ok := errors.AsType[net.Error](a.err); ok && ne.Timeout() {
			t.Fatalf("the server neither answered nor closed the connection: %v", a.err)
		}
		if len(a.data) > 0 && !strings.HasPrefix(string(a.data), "HTTP/1.1 408 ") {
			t.Fatalf("the server answered the slow client instead of timing it out:\n%s", a.data)
		}
	}
	if _, err := io.WriteString(conn, "GET /debug/ctxtrail HTTP/1.1\r\nHost: shop\r\nConnection: close\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	for sent := 0; sent < budget; sent++ {
		select {
		case a := <-closed:
			check(a, sent)
			return
		case <-time.After(every):
		}
		if _, err := conn.Write([]byte{'v'}); err != nil { // the server has closed: see what it said
			check(<-closed, sent)
			return
		}
	}
	_, _ = io.WriteString(conn, "\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	a := <-closed
	t.Fatalf("the server still read headers after %d bytes sent one every %v (ReadHeaderTimeout %v); once complete it answered %q (%v)",
		budget, every, shop.ReadHeaderTimeout, floodFirstLine(a.data), a.err)
}

func floodFirstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}
