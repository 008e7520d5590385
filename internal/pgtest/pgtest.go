// Package pgtest finds or starts the PostgreSQL server that tests run against.
//
// With CTXTRAIL_POSTGRES_DSN set (CI sets it from scripts/postgres.sh start), tests use that
// server. Otherwise, if PostgreSQL is installed, M starts a throwaway one through
// scripts/postgres.sh for the test binary and stops it afterwards. If PostgreSQL is not
// installed, DSN skips the test and says how to enable it — except under CI=true, where a
// missing server fails the test instead of skipping it quietly.
package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const skipHowTo = "PostgreSQL cases skipped: no server. Enable them with " +
	"`export CTXTRAIL_POSTGRES_DSN=\"$(scripts/postgres.sh start)\"` (installs PostgreSQL from Debian " +
	"when run as root), or install PostgreSQL (`apt-get install -y postgresql`) so the tests start one themselves"

// server is what M found or started. Test-only state: M writes it before any test runs.
var server struct {
	dsn     string
	skip    string
	startup error
}

// M wraps m so that its Run starts PostgreSQL (when needed and possible) before the tests and
// stops it after them. Use it inside goleak.VerifyTestMain so leaks are checked after the stop.
func M(m *testing.M) interface{ Run() int } { return runner{m} }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	if dsn := os.Getenv("CTXTRAIL_POSTGRES_DSN"); dsn != "" {
		server.dsn = dsn
		return r.m.Run()
	}
	if !installed() {
		server.skip = skipHowTo
		return r.m.Run()
	}
	stop, err := start()
	if err != nil {
		server.startup = err
		return r.m.Run()
	}
	defer stop()
	return r.m.Run()
}

// DSN returns the server's DSN, or skips t (fails it under CI=true) when there is none.
func DSN(t testing.TB) string {
	t.Helper()
	switch {
	case server.startup != nil:
		t.Fatalf("PostgreSQL is installed but the tests could not start it: %v", server.startup)
	case server.dsn == "" && os.Getenv("CI") == "true":
		t.Fatal("CI=true but no PostgreSQL: .ci/run must export CTXTRAIL_POSTGRES_DSN")
	case server.dsn == "":
		t.Skip(server.skip)
	}
	return server.dsn
}

// installed reports whether initdb is on this machine. Tests never install anything.
func installed() bool {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return true
	}
	_, err := exec.LookPath("initdb")
	return err == nil
}

// start runs scripts/postgres.sh in a folder of its own.
func start() (stop func(), err error) {
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ctxtrail-pg-")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "CTXTRAIL_PG_DIR="+dir, "CTXTRAIL_PG_INSTALL=never", "CTXTRAIL_PG_PORT=55442")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script, "start")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	stop = func() {
		c := exec.Command("bash", script, "stop")
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "postgres.sh stop: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	}
	if err := cmd.Run(); err != nil {
		stop()
		return nil, fmt.Errorf("scripts/postgres.sh start: %w\n%s", err, stderr.String())
	}
	server.dsn = strings.TrimSpace(stdout.String())
	return stop, nil
}

// findScript walks up from the test's folder to the repository's scripts/postgres.sh (tests
// run in modules of their own below the root, such as examples and sqltx's dbtest).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		script := filepath.Join(dir, "scripts", "postgres.sh")
		if _, err := os.Stat(script); err == nil {
			return script, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pgtest: no scripts/postgres.sh above the test's folder")
		}
		dir = parent
	}
}
