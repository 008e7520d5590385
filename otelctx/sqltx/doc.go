// Package sqltx scopes one database/sql transaction to a call chain through the context, with
// spans: the Go shape of a transaction manager's runInTransaction, where repositories find the
// current transaction in the async context instead of taking it as a parameter.
//
// # Running in a transaction
//
// RunInTx begins a transaction on a *sql.DB, puts it in the context it passes to fn, commits when
// fn returns nil and rolls back when fn returns an error, panics (the panic goes on after the
// rollback) or calls runtime.Goexit. A repository calls Querier(ctx, db) for each statement and
// gets the transaction when there is one and the *sql.DB when there is none, behind one interface,
// DBTX, so the same repository code runs inside and outside transactions:
//
//	err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
//		if err := users.Create(ctx, u); err != nil {
//			return err // rolls back
//		}
//		return orders.Create(ctx, o)
//	})
//
// Transactions are looked up by *sql.DB, so a context can carry transactions on several databases
// at once. The transaction lives as long as RunInTx: a context that escapes fn (a goroutine that
// outlives it) finds an ended transaction and gets sql.ErrTxDone, never a silent auto-commit.
//
// # Nesting
//
// A RunInTx inside another on the same db joins the outer transaction by default: no new BEGIN,
// and if the inner fn fails the transaction is marked rollback-only, so the outermost RunInTx
// rolls back even if its fn swallows the error and returns ErrRollbackOnly (committing would keep
// half the inner call's work). WithSavepoint runs the inner fn in a SAVEPOINT instead: a failure
// rolls back to it and the outer transaction goes on. WithNewTx begins an independent transaction
// on another connection, which commits or rolls back on its own.
//
// # What each database supports
//
// Tested against SQLite through modernc.org/sqlite (pure Go, driver "sqlite") and PostgreSQL
// through github.com/jackc/pgx/v5/stdlib (driver "pgx"):
//
//	                            SQLite (modernc)             PostgreSQL (pgx stdlib)
//	WithSavepoint               yes (SAVEPOINT)              yes (SAVEPOINT)
//	WithNewTx                   one writer at a time: see    yes
//	                            below
//	isolation levels            accepted and ignored:        ReadCommitted, RepeatableRead
//	(WithTxOptions)             SQLite is serializable       (and Snapshot, mapped to it),
//	                                                         Serializable; ReadUncommitted runs
//	                                                         as ReadCommitted; others: begin error
//	read-only (TxOptions)       accepted, NOT enforced:      enforced: writes fail
//	                            writes succeed
//	after a failed statement    the transaction goes on      the transaction is aborted until
//	                                                         ROLLBACK TO a savepoint: use
//	                                                         WithSavepoint around statements that
//	                                                         may fail and be handled
//
// SQLite allows one writer at a time per database file. A WithNewTx transaction that writes while
// the outer transaction already holds the write lock waits for busy_timeout and fails with
// SQLITE_BUSY, because the outer transaction is waiting for it: on SQLite, run new transactions
// before the outer one writes, or not at all. For the same reason use journal_mode(WAL) and a
// busy_timeout, and let transactions write before they read (or begin with _txlock=immediate), so
// a transaction never has to upgrade a read lock while another writer holds the lock. A pool
// limited to one connection (as ":memory:" databases need) deadlocks on WithNewTx.
//
// # Spans
//
// Spans come from WithTracerProvider, by default the global provider at the time of the call; a
// nested RunInTx without the option uses the provider of the transaction it nests in. A
// transaction makes a SpanTransaction span (a child of the span in ctx) with client spans
// SpanBegin and SpanCommit or SpanRollback under it; a savepoint makes a SpanNested span with
// SpanSavepoint and SpanRelease or SpanRollbackTo under it; a joined call makes none. Every span
// carries db.system.name and db.system, guessed from the driver or set with WithDBSystem; the
// transaction span also carries the isolation level, read-only flag, outcome and, on rollback,
// the reason (error, panic, goexit, rollback_only), and records the error.
//
// WithStatementSpans adds a client span per statement run through Querier, named after the
// operation (SELECT, INSERT...) and carrying db.operation.name; WithStatementText also records
// the statement text, capped in length. Arguments are never recorded. Statement spans cover the
// call only, not the reading of rows afterwards.
package sqltx
