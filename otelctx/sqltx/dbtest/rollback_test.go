package dbtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/pgtest"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// lockProbe is how long a probe waits for a lock the failed transaction might still hold: long
// enough for a loaded machine to run one statement, far from SQLite's 20 s busy timeout.
const lockProbe = 2 * time.Second

// TestRunInTxPanicRollsBackAndRepanics: the panic goes on with its value, and the transaction of
// the panicking RunInTx is gone, not merely invisible: the pool's only connection is back
// (InUse 0), a lock the transaction held is free to another connection at once, and its row is
// absent. Uncommitted rows are invisible
// whether the transaction rolled back or is still open, so the row alone proves nothing.
func TestRunInTxPanicRollsBackAndRepanics(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "test.db")
		db := openSQLiteFile(t, path, 20000)
		probe := openSQLiteFile(t, path, 100) // a writer that gives up after 100 ms
		table := newTable(t, db)
		checkPanicReleases(t, db, probe, table, func(ctx context.Context) error {
			// The doomed insert took SQLite's write lock: another writer gets it only if it is gone.
			_, err := probe.ExecContext(ctx, "INSERT INTO "+table+" (note) VALUES ('probe')")
			return err
		})
	})
	t.Run("postgresql", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		db, probe := openPostgresDSN(t, dsn), openPostgresDSN(t, dsn)
		table := newTable(t, db)
		if _, err := db.ExecContext(t.Context(), "INSERT INTO "+table+" (note) VALUES ('locked')"); err != nil {
			t.Fatal(err)
		}
		checkPanicReleases(t, db, probe, table, func(ctx context.Context) error {
			// The transaction locked the row FOR UPDATE; NOWAIT fails at once (55P03) if it still holds it.
			return probeTx(ctx, probe, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "SELECT id FROM "+table+" WHERE note = 'locked' FOR UPDATE NOWAIT")
				return err
			})
		})
	})
}

// checkPanicReleases runs a RunInTx on db (one connection at most) that locks, inserts "doomed"
// and panics, then checks through probe that nothing of it is left. lockFree must fail fast while
// the transaction holds its lock.
func checkPanicReleases(t *testing.T, db, probe *sql.DB, table string, lockFree func(context.Context) error) {
	t.Helper()
	db.SetMaxOpenConns(1)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			q := sqltx.Querier(ctx, db)
			if isPostgres(db) {
				if _, err := q.ExecContext(ctx, "SELECT id FROM "+table+" WHERE note = 'locked' FOR UPDATE"); err != nil {
					t.Error(err)
				}
			}
			if err := insert(ctx, db, table, "doomed"); err != nil {
				t.Error(err)
			}
			panic("kaboom")
		})
	}()
	if recovered != "kaboom" {
		t.Fatalf("recovered %v, want the original panic value", recovered)
	}
	// database/sql returns the connection when Rollback returns: no waiting needed.
	if st := db.Stats(); st.InUse != 0 {
		t.Fatalf("after the panic %d connection(s) in use, want 0: the transaction was not rolled back", st.InUse)
	}
	ctx, cancel := context.WithTimeout(t.Context(), lockProbe)
	defer cancel()
	start := time.Now()
	if err := lockFree(ctx); err != nil {
		t.Fatalf("a lock of the panicked transaction is still held after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	var doomed int
	if err := probe.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE note = 'doomed'").Scan(&doomed); err != nil {
		t.Fatal(err)
	}
	if doomed != 0 {
		t.Fatalf("%d doomed row(s) committed", doomed)
	}
	// The pool's one connection is clean: a new transaction on it works at once.
	if err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error { return insert(ctx, db, table, "after") }); err != nil {
		t.Fatal(err)
	}
}

// openSQLiteFile opens the database file at path with the given busy timeout in milliseconds.
func openSQLiteFile(t *testing.T, path string, busyMS int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout("+strconv.Itoa(busyMS)+")&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgresDSN opens a pool of its own on dsn.
func openPostgresDSN(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// probeTx runs fn in a transaction of its own on db and rolls it back.
func probeTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}
