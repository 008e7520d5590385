package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

func insert(ctx context.Context, db *sql.DB, table, note string) error {
	_, err := sqltx.Querier(ctx, db).ExecContext(ctx, "INSERT INTO "+table+" (note) VALUES ($1)", note)
	return err
}

func TestRunInTxCommitsAndRollsBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		tests := []struct {
			name      string
			fnErr     error
			wantNotes []string
		}{
			{name: "nil commits", fnErr: nil, wantNotes: []string{"a", "b"}},
			{name: "error rolls back", fnErr: errBoom, wantNotes: nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				table := newTable(t, db)
				err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
					for _, n := range []string{"a", "b"} {
						if err := insert(ctx, db, table, n); err != nil {
							return err
						}
					}
					// The transaction sees its own rows before the commit.
					if n := count(t, sqltx.Querier(ctx, db), "SELECT count(*) FROM "+table); n != 2 {
						t.Errorf("rows seen inside the transaction = %d, want 2", n)
					}
					return tt.fnErr
				})
				if err != tt.fnErr { // unchanged, not merely wrapped, when the rollback succeeds
					t.Fatalf("RunInTx = %v, want %v", err, tt.fnErr)
				}
				if got := notes(t, db, table); !slices.Equal(got, tt.wantNotes) {
					t.Fatalf("rows after RunInTx = %q, want %q", got, tt.wantNotes)
				}
			})
		}
	})
}

func TestRunInTxGoexitRollsBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		done := make(chan struct{})
		reachedEnd := false
		go func() {
			defer close(done)
			_ = sqltx.RunInTx(context.Background(), db, func(ctx context.Context) error {
				if err := insert(ctx, db, table, "doomed"); err != nil {
					return err
				}
				runtime.Goexit() // what t.FailNow does inside fn
				return nil
			})
			reachedEnd = true
		}()
		<-done
		if reachedEnd {
			t.Fatal("RunInTx returned normally after runtime.Goexit")
		}
		if got := notes(t, db, table); len(got) != 0 {
			t.Fatalf("rows after Goexit = %q, want none", got)
		}
	})
}

func TestRunInTxContextCanceled(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		t.Run("fn returns the context error", func(t *testing.T) {
			table := newTable(t, db)
			ctx, cancel := context.WithCancel(t.Context())
			err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
				if err := insert(ctx, db, table, "doomed"); err != nil {
					return err
				}
				cancel()
				return ctx.Err()
			})
			// database/sql rolled back when ctx ended; that is not a rollback failure.
			if err != context.Canceled {
				t.Fatalf("RunInTx = %v, want context.Canceled unchanged", err)
			}
			if got := notes(t, db, table); len(got) != 0 {
				t.Fatalf("rows = %q, want none", got)
			}
		})
		t.Run("fn ignores the cancel", func(t *testing.T) {
			table := newTable(t, db)
			ctx, cancel := context.WithCancel(t.Context())
			err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
				if err := insert(ctx, db, table, "doomed"); err != nil {
					return err
				}
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sqltx: commit") {
				t.Fatalf("RunInTx = %v, want a commit error that wraps context.Canceled", err)
			}
			if got := notes(t, db, table); len(got) != 0 {
				t.Fatalf("rows = %q, want none", got)
			}
		})
	})
}

func TestRunInTxWrapsRollbackFailure(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		// fn ends the transaction behind RunInTx's back, so RunInTx's own rollback fails.
		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			if err := insert(ctx, db, table, "committed early"); err != nil {
				return err
			}
			tx, ok := sqltx.Tx(ctx, db)
			if !ok {
				t.Fatal("Tx found no transaction inside RunInTx")
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) || !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("RunInTx = %v, want it to wrap both the cause and the rollback failure", err)
		}
		if !strings.Contains(err.Error(), "sqltx: rollback") {
			t.Fatalf("error %q does not say the rollback failed", err)
		}
	})
}

func TestRunInTxCommitFailure(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		// A deferred foreign key is checked at COMMIT: a real commit failure on both databases.
		parent, child := newTable(t, db), ""
		child = "child_of_" + parent
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE "+child+
			" (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES "+parent+"(id) DEFERRABLE INITIALLY DEFERRED)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.ExecContext(context.Background(), "DROP TABLE "+child) })

		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			_, err := sqltx.Querier(ctx, db).ExecContext(ctx, "INSERT INTO "+child+" (id, parent_id) VALUES (1, 999)")
			return err
		})
		if err == nil || !strings.HasPrefix(err.Error(), "sqltx: commit: ") {
			t.Fatalf("RunInTx = %v, want a wrapped commit error", err)
		}
		if n := count(t, db, "SELECT count(*) FROM "+child); n != 0 {
			t.Fatalf("%d rows after a failed commit, want 0", n)
		}
	})
}

func TestRunInTxBadArguments(t *testing.T) {
	db := openSQLite(t)
	fn := func(context.Context) error { return nil }
	tests := []struct {
		name string
		ctx  context.Context
		db   *sql.DB
		fn   func(context.Context) error
	}{
		{name: "nil context", ctx: nil, db: db, fn: fn},
		{name: "nil db", ctx: t.Context(), db: nil, fn: fn},
		{name: "nil fn", ctx: t.Context(), db: db, fn: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqltx.RunInTx(tt.ctx, tt.db, tt.fn)
			if !errors.Is(err, sqltx.ErrNilArgument) {
				t.Fatalf("RunInTx = %v, want ErrNilArgument", err)
			}
		})
	}
}

func TestQuerierPicksTheContextsTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		other := openSQLite(t)
		if q := sqltx.Querier(t.Context(), db); q != sqltx.DBTX(db) {
			t.Fatalf("outside a transaction Querier = %T, want the *sql.DB", q)
		}
		if _, ok := sqltx.Tx(t.Context(), db); ok {
			t.Fatal("Tx found a transaction in a bare context")
		}
		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			tx, ok := sqltx.Tx(ctx, db)
			if !ok {
				t.Fatal("Tx found no transaction inside RunInTx")
			}
			if q := sqltx.Querier(ctx, db); q != sqltx.DBTX(tx) {
				t.Errorf("inside RunInTx Querier = %T, want the *sql.Tx", q)
			}
			if q := sqltx.Querier(ctx, other); q != sqltx.DBTX(other) {
				t.Errorf("Querier for another db = %T, want that *sql.DB", q)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestEscapedContext(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		var escaped context.Context
		if err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			escaped = ctx
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		err := sqltx.RunInTx(escaped, db, func(ctx context.Context) error { return insert(ctx, db, table, "late") })
		if !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("joining an ended transaction = %v, want sql.ErrTxDone", err)
		}
		if err := insert(escaped, db, table, "late"); !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("statement on an ended transaction = %v, want sql.ErrTxDone", err)
		}
		if got := notes(t, db, table); len(got) != 0 {
			t.Fatalf("rows = %q, want none", got)
		}
	})
}

func TestEscapedSavepointContext(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			var escaped context.Context
			if err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
				escaped = ctx
				return nil
			}, sqltx.WithSavepoint()); err != nil {
				return err
			}
			// The transaction is still open, but the savepoint scope is over.
			err := sqltx.RunInTx(escaped, db, func(context.Context) error { return nil })
			if !errors.Is(err, sql.ErrTxDone) {
				t.Errorf("joining an ended savepoint = %v, want sql.ErrTxDone", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestTxOptions(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, system string) {
		t.Run("read-only", func(t *testing.T) {
			table := newTable(t, db)
			err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
				return insert(ctx, db, table, "write in a read-only tx")
			}, sqltx.WithTxOptions(sql.TxOptions{ReadOnly: true}))
			// As documented in doc.go: PostgreSQL enforces read-only, the SQLite driver does not.
			wantRefused := system == "postgresql"
			if refused := err != nil; refused != wantRefused {
				t.Fatalf("%s: write in a read-only transaction: err = %v, want refused=%v", system, err, wantRefused)
			}
		})
		t.Run("serializable", func(t *testing.T) {
			err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
				if system != "postgresql" {
					return nil // SQLite accepts the level; it is always serializable
				}
				var level string
				if err := sqltx.Querier(ctx, db).QueryRowContext(ctx, "SHOW transaction_isolation").Scan(&level); err != nil {
					return err
				}
				if level != "serializable" {
					t.Errorf("transaction_isolation = %q, want serializable", level)
				}
				return nil
			}, sqltx.WithTxOptions(sql.TxOptions{Isolation: sql.LevelSerializable}))
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("conflicting nested isolation", func(t *testing.T) {
			err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
				return sqltx.RunInTx(ctx, db, func(context.Context) error { return nil },
					sqltx.WithTxOptions(sql.TxOptions{Isolation: sql.LevelReadCommitted}))
			}, sqltx.WithTxOptions(sql.TxOptions{Isolation: sql.LevelSerializable}))
			if !errors.Is(err, sqltx.ErrTxOptionsConflict) {
				t.Fatalf("RunInTx = %v, want ErrTxOptionsConflict", err)
			}
		})
	})
	t.Run("postgresql refuses an unknown level", func(t *testing.T) {
		db := openPostgres(t)
		err := sqltx.RunInTx(t.Context(), db, func(context.Context) error { return nil },
			sqltx.WithTxOptions(sql.TxOptions{Isolation: sql.LevelLinearizable}))
		if err == nil || !strings.HasPrefix(err.Error(), "sqltx: begin: ") {
			t.Fatalf("RunInTx = %v, want a wrapped begin error", err)
		}
	})
}
