package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// TestConcurrentTransactions runs 100 goroutines, each in its own transaction through the same
// *sql.DB. Each must find its own transaction in its context, see its own uncommitted rows, and
// never see rows of a transaction that did not commit. Goroutines with i%4 == 1 fail and those
// with i%4 == 3 panic, so half roll back.
func TestConcurrentTransactions(t *testing.T) {
	const goroutines, rowsEach = 100, 3
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		table := newTable(t, db)
		// A bound, so that a transaction left open (by a broken rollback) fails the test instead
		// of holding the pool's connections until the test binary times out: at the deadline
		// database/sql rolls back what is open and the waiting goroutines give up. The test takes
		// about 3 s with -race.
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		txs := make([]*sql.Tx, goroutines)
		errs := make([]error, goroutines)
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				defer func() {
					if r := recover(); r != nil && i%4 != 3 {
						errs[i] = fmt.Errorf("unexpected panic: %v", r)
					}
				}()
				err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
					tx, ok := sqltx.Tx(ctx, db)
					if !ok {
						return errors.New("no transaction in the context")
					}
					txs[i] = tx
					q := sqltx.Querier(ctx, db)
					if q != sqltx.DBTX(tx) {
						return errors.New("Querier did not return this goroutine's transaction")
					}
					// Write first: on SQLite a deferred transaction that reads first cannot
					// upgrade to the writer lock while another writer holds it.
					for range rowsEach {
						if _, err := q.ExecContext(ctx, "INSERT INTO "+table+" (owner) VALUES ($1)", i); err != nil {
							return err
						}
					}
					var own, foreignDoomed int
					if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE owner = $1", i).Scan(&own); err != nil {
						return err
					}
					if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+
						" WHERE owner % 2 = 1 AND owner <> $1", i).Scan(&foreignDoomed); err != nil {
						return err
					}
					if own != rowsEach {
						return fmt.Errorf("sees %d of its own rows, want %d", own, rowsEach)
					}
					if foreignDoomed != 0 {
						return fmt.Errorf("sees %d rows of other transactions that never commit", foreignDoomed)
					}
					switch i % 4 {
					case 1:
						return errBoom
					case 3:
						panic("goroutine panics")
					}
					return nil
				})
				if i%2 == 1 && errors.Is(err, errBoom) {
					err = nil
				}
				if err != nil {
					errs[i] = err
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		seen := make(map[*sql.Tx]int, goroutines)
		for i, tx := range txs {
			if j, dup := seen[tx]; dup {
				t.Fatalf("goroutines %d and %d got the same transaction", j, i)
			}
			seen[tx] = i
		}
		if n := count(t, db, "SELECT count(*) FROM "+table+" WHERE owner % 2 = 0"); n != goroutines/2*rowsEach {
			t.Errorf("committed rows = %d, want %d", n, goroutines/2*rowsEach)
		}
		if n := count(t, db, "SELECT count(*) FROM "+table+" WHERE owner % 2 = 1"); n != 0 {
			t.Errorf("rows of rolled-back transactions = %d, want 0", n)
		}
	})
}
