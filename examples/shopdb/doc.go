// Package shopdb is the users-and-orders repository of the shop demo, written the way sqltx means
// repositories to be written: every method gets its database handle from sqltx.Querier, so it
// runs in the caller's transaction when the context carries one and on the pool when it does not.
//
// # Use
//
//	store := shopdb.New(db)
//	err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
//		u, err := store.CreateUser(ctx, "ada@example.com", "Ada", 10_00)
//		if err != nil {
//			return err
//		}
//		_, err = store.Checkout(ctx, u.ID, lines) // joins this transaction
//		return err // an error undoes the user too
//	})
//
// # Databases
//
// CreateSchema writes the tables for SQLite (modernc.org/sqlite, driver "sqlite") or PostgreSQL
// (github.com/jackc/pgx/v5/stdlib, driver "pgx"); the queries are shared. On SQLite open the
// database with journal_mode(WAL) and a busy_timeout so concurrent writers wait for each other.
//
// # Consistency
//
// PlaceOrder debits credit with one conditional UPDATE and records the order in the same
// transaction, so concurrent orders never spend more than the user has. Checkout places all its
// lines or none.
package shopdb
