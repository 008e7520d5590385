package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

func TestNesting(t *testing.T) {
	errInner, errOuter := errors.New("inner failed"), errors.New("outer failed")
	tests := []struct {
		name       string
		opts       []sqltx.Option
		innerFails bool
		swallow    bool // the outer fn ignores the inner error
		outerFails bool
		wantErr    []error // errors.Is targets; nil means success
		wantNotes  []string
	}{
		{name: "join/both succeed", wantNotes: []string{"inner", "outer"}},
		{name: "join/inner error propagated", innerFails: true, wantErr: []error{errInner}},
		{name: "join/inner error swallowed rolls back all", innerFails: true, swallow: true,
			wantErr: []error{sqltx.ErrRollbackOnly, errInner}},
		{name: "join/outer error undoes inner", outerFails: true, wantErr: []error{errOuter}},

		{name: "savepoint/both succeed", opts: []sqltx.Option{sqltx.WithSavepoint()}, wantNotes: []string{"inner", "outer"}},
		{name: "savepoint/inner error swallowed keeps outer", opts: []sqltx.Option{sqltx.WithSavepoint()},
			innerFails: true, swallow: true, wantNotes: []string{"outer"}},
		{name: "savepoint/inner error propagated", opts: []sqltx.Option{sqltx.WithSavepoint()},
			innerFails: true, wantErr: []error{errInner}},
		{name: "savepoint/outer error undoes inner", opts: []sqltx.Option{sqltx.WithSavepoint()},
			outerFails: true, wantErr: []error{errOuter}},

		{name: "new/both succeed", opts: []sqltx.Option{sqltx.WithNewTx()}, wantNotes: []string{"inner", "outer"}},
		{name: "new/outer error keeps inner", opts: []sqltx.Option{sqltx.WithNewTx()},
			outerFails: true, wantErr: []error{errOuter}, wantNotes: []string{"inner"}},
		{name: "new/inner error swallowed keeps outer", opts: []sqltx.Option{sqltx.WithNewTx()},
			innerFails: true, swallow: true, wantNotes: []string{"outer"}},
	}
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				table := newTable(t, db)
				err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
					// The inner call comes first: on SQLite a new transaction could not take the
					// writer lock while the outer one holds it (see doc.go).
					innerErr := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
						if err := insert(ctx, db, table, "inner"); err != nil {
							return err
						}
						if tt.innerFails {
							return errInner
						}
						return nil
					}, tt.opts...)
					if innerErr != nil && !tt.swallow {
						return innerErr
					}
					if innerErr != nil && !errors.Is(innerErr, errInner) {
						t.Errorf("inner RunInTx = %v, want %v", innerErr, errInner)
					}
					if err := insert(ctx, db, table, "outer"); err != nil {
						return err
					}
					if tt.outerFails {
						return errOuter
					}
					return nil
				})
				switch {
				case tt.wantErr == nil && err != nil:
					t.Fatalf("RunInTx = %v, want success", err)
				case tt.wantErr != nil:
					for _, want := range tt.wantErr {
						if !errors.Is(err, want) {
							t.Fatalf("RunInTx = %v, want it to wrap %v", err, want)
						}
					}
				}
				if got := notes(t, db, table); !slices.Equal(got, tt.wantNotes) {
					t.Fatalf("rows = %q, want %q", got, tt.wantNotes)
				}
			})
		}
	})
}

// TestSavepointAfterFailedStatement is why savepoints exist: a failed statement in PostgreSQL
// aborts the whole transaction unless it ran inside a savepoint. SQLite carries on after a failed
// statement, and the join still rolls back because the joined call failed.
func TestSavepointAfterFailedStatement(t *testing.T) {
	tests := []struct {
		name      string
		opts      []sqltx.Option
		wantErr   bool
		wantNotes []string
	}{
		{name: "savepoint", opts: []sqltx.Option{sqltx.WithSavepoint()}, wantNotes: []string{"first", "outer"}},
		{name: "join", opts: nil, wantErr: true},
	}
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				table := newTable(t, db)
				err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
					if _, err := sqltx.Querier(ctx, db).ExecContext(ctx,
						"INSERT INTO "+table+" (id, note) VALUES (1, 'first')"); err != nil {
						return err
					}
					dupErr := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
						_, err := sqltx.Querier(ctx, db).ExecContext(ctx,
							"INSERT INTO "+table+" (id, note) VALUES (1, 'duplicate')")
						return err
					}, tt.opts...)
					if dupErr == nil {
						t.Error("duplicate primary key was accepted")
					}
					// Ignore the failure and go on, as a caller handling "already exists" would.
					_, err := sqltx.Querier(ctx, db).ExecContext(ctx,
						"INSERT INTO "+table+" (id, note) VALUES (2, 'outer')")
					return err
				})
				if (err != nil) != tt.wantErr {
					t.Fatalf("RunInTx = %v, want error: %v", err, tt.wantErr)
				}
				if got := notes(t, db, table); !slices.Equal(got, tt.wantNotes) {
					t.Fatalf("rows = %q, want %q", got, tt.wantNotes)
				}
			})
		}
	})
}

func TestSavepointPanicRollsBackToSavepoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			if err := insert(ctx, db, table, "outer"); err != nil {
				return err
			}
			func() {
				defer func() {
					if r := recover(); r != "inner panic" {
						t.Errorf("recovered %v, want the inner panic", r)
					}
				}()
				_ = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
					if err := insert(ctx, db, table, "inner"); err != nil {
						return err
					}
					panic("inner panic")
				}, sqltx.WithSavepoint())
			}()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := notes(t, db, table); !slices.Equal(got, []string{"outer"}) {
			t.Fatalf("rows = %q, want [outer]", got)
		}
	})
}

func TestNestedSavepoints(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		sp := sqltx.WithSavepoint()
		err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
			level1 := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
				if err := insert(ctx, db, table, "level1"); err != nil {
					return err
				}
				// level2 fails and is undone; level1 keeps its row.
				_ = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
					if err := insert(ctx, db, table, "level2"); err != nil {
						return err
					}
					return errBoom
				}, sp)
				// A joined call inside the savepoint fails: the savepoint, not the
				// transaction, is rolled back.
				_ = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
					if err := insert(ctx, db, table, "joined"); err != nil {
						return err
					}
					return errBoom
				})
				return nil
			}, sp)
			if !errors.Is(level1, sqltx.ErrRollbackOnly) || !errors.Is(level1, errBoom) {
				t.Errorf("level1 = %v, want ErrRollbackOnly wrapping the joined call's error", level1)
			}
			return insert(ctx, db, table, "outer")
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := notes(t, db, table); !slices.Equal(got, []string{"outer"}) {
			t.Fatalf("rows = %q, want [outer]: the failed join rolled back level1's savepoint only", got)
		}
	})
}

// TestNewTxIsIndependent runs the new transaction while the outer one holds uncommitted rows.
// PostgreSQL only: SQLite has one writer at a time, so the inner write would wait for the outer
// transaction that waits for it (see doc.go).
func TestNewTxIsIndependent(t *testing.T) {
	db := openPostgres(t)
	table := newTable(t, db)
	err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
		if err := insert(ctx, db, table, "outer"); err != nil {
			return err
		}
		outerTx, _ := sqltx.Tx(ctx, db)
		if err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
			if tx, _ := sqltx.Tx(ctx, db); tx == outerTx {
				t.Error("WithNewTx reused the outer transaction")
			}
			if n := count(t, sqltx.Querier(ctx, db), "SELECT count(*) FROM "+table); n != 0 {
				t.Errorf("the new transaction sees %d uncommitted outer rows", n)
			}
			return insert(ctx, db, table, "inner")
		}, sqltx.WithNewTx()); err != nil {
			return err
		}
		// Back in the outer transaction: the context again gives the outer tx.
		if tx, _ := sqltx.Tx(ctx, db); tx != outerTx {
			t.Error("after WithNewTx the context no longer gives the outer transaction")
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("RunInTx = %v, want errBoom", err)
	}
	if got := notes(t, db, table); !slices.Equal(got, []string{"inner"}) {
		t.Fatalf("rows = %q, want [inner]", got)
	}
}

func TestTransactionsOnTwoDatabases(t *testing.T) {
	a, b := openSQLite(t), openSQLite(t)
	ta, tb := newTable(t, a), newTable(t, b)
	err := sqltx.RunInTx(t.Context(), a, func(ctx context.Context) error {
		if err := insert(ctx, a, ta, "a"); err != nil {
			return err
		}
		// A transaction on b nests inside a's without joining it; both stay reachable.
		return sqltx.RunInTx(ctx, b, func(ctx context.Context) error {
			if err := insert(ctx, b, tb, "b"); err != nil {
				return err
			}
			txA, okA := sqltx.Tx(ctx, a)
			txB, okB := sqltx.Tx(ctx, b)
			if !okA || !okB || txA == txB {
				t.Errorf("Tx(a) = %p,%v Tx(b) = %p,%v, want two distinct transactions", txA, okA, txB, okB)
			}
			return errBoom
		})
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("RunInTx = %v", err)
	}
	if got := notes(t, a, ta); len(got) != 0 {
		t.Fatalf("rows in a = %q, want none", got)
	}
	if got := notes(t, b, tb); len(got) != 0 {
		t.Fatalf("rows in b = %q, want none", got)
	}
}
