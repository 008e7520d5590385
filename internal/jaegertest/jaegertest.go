// Package jaegertest runs the real Jaeger v2 binary for a test, with the test's own config on
// free loopback ports.
//
// The binary is the one scripts/jaeger.sh builds: CTXTRAIL_JAEGER_BIN names it (.ci/run sets it
// from `scripts/jaeger.sh`), else the script's default cache path is tried. Without it the test
// is skipped with the command that builds it, except under CI=true, where it fails.
//
// The shared Jaeger of the machine and CI listens on 4317, 4318, 16686, 5778, 8888 and 13133; a
// config given to Start must not use those: it gets free ports from Ports and must turn off the
// collector's own metrics port (service.telemetry.metrics.level: none).
package jaegertest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary returns the Jaeger binary's path, or skips t (fails it under CI=true) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("CTXTRAIL_JAEGER_BIN")
	if bin == "" {
		cache := os.Getenv("CTXTRAIL_CACHE")
		if cache == "" {
			if c, err := os.UserCacheDir(); err == nil {
				cache = filepath.Join(c, "ctxtrail")
			}
		}
		bin = filepath.Join(cache, "jaeger-v1.76.0", "jaeger")
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Jaeger binary at %s: .ci/run must export CTXTRAIL_JAEGER_BIN=$(scripts/jaeger.sh)", bin)
		}
		t.Skipf("no Jaeger binary at %s: build it with `export CTXTRAIL_JAEGER_BIN=$(scripts/jaeger.sh)` "+
			"(several minutes cold) to run this test", bin)
	}
	return bin
}

// reserved are the shared Jaeger's ports; Ports never returns them.
var reserved = map[int]bool{4317: true, 4318: true, 16686: true, 5778: true, 5779: true, 8888: true, 13133: true}

// Ports returns n distinct free loopback ports, chosen now. Another process could take one
// before Jaeger binds it; Start then fails with Jaeger's log.
func Ports(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		if p := l.Addr().(*net.TCPAddr).Port; !reserved[p] {
			out = append(out, p)
		}
	}
	return out
}

// Process is a running Jaeger.
type Process struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Pid returns the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill ends Jaeger with SIGKILL, as a crash or the OOM killer would: nothing is flushed or
// closed. It waits until the process is gone.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Log returns what Jaeger wrote so far.
func (p *Process) Log() string { return p.log.String() }

// Start writes config to config.yaml in a temp dir, starts Jaeger with it and waits (up to two
// minutes: the machine may be loaded) until GET ready answers 200. Jaeger is stopped when the
// test ends. Files the config names (strategies, storage) belong in dir too.
func Start(t testing.TB, dir, config, ready string) *Process {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return StartFile(t, path, ready)
}

// StartFile is Start for a config file that exists, with env (NAME=value) added to the
// process's environment for the config's ${env:NAME} references.
func StartFile(t testing.TB, path, ready string, env ...string) *Process {
	t.Helper()
	bin := Binary(t)
	p := &Process{cmd: exec.Command(bin, "--config", path), log: new(syncBuffer), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-p.done:
			t.Fatalf("jaeger exited before %s answered; log:\n%s", ready, p.Log())
		default:
		}
		if resp, err := client.Get(ready); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				client.CloseIdleConnections()
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger: %s did not answer 200 within 2 minutes; log:\n%s", ready, p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends Jaeger (interrupt, then kill after 10s) and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Validate runs `jaeger validate --config path` and returns its output and error.
func Validate(t testing.TB, path string) (string, error) {
	t.Helper()
	bin := Binary(t)
	out, err := exec.Command(bin, "validate", "--config", path).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Addr formats a loopback host:port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // bounded: keep the first MiB, which holds the start-up errors
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
