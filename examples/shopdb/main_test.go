package shopdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/pgtest"
	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/ctxtrail/ctxtrail/examples/shopdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.M(m))
}

// backend opens an empty shop database of one kind for one test.
type backend struct {
	name string
	open func(t *testing.T) *sql.DB
}

func backends() []backend {
	return []backend{{name: "sqlite", open: openSQLite}, {name: "postgresql", open: openPostgres}}
}

func forEachDB(t *testing.T, body func(t *testing.T, db *sql.DB)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { body(t, b.open(t)) })
	}
}

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	if err := shopdb.CreateSchema(t.Context(), db, shopdb.SQLite); err != nil {
		t.Fatal(err)
	}
	return db
}

var schemaSeq atomic.Int64

// openPostgres gives each test a schema of its own (through search_path), dropped afterwards.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := pgtest.DSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("shop_%d_%d", os.Getpid(), schemaSeq.Add(1))
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(20)
	t.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	if err := shopdb.CreateSchema(t.Context(), db, shopdb.Postgres); err != nil {
		t.Fatal(err)
	}
	return db
}
