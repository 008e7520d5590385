package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// addNote is repository code: it neither knows nor cares whether it runs in a transaction.
func addNote(ctx context.Context, db *sql.DB, note string) error {
	_, err := sqltx.Querier(ctx, db).ExecContext(ctx, "INSERT INTO notes (note) VALUES ($1)", note)
	return err
}

func countNotes(ctx context.Context, db *sql.DB) int {
	var n int
	if err := sqltx.Querier(ctx, db).QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil {
		return -1
	}
	return n
}

func ExampleRunInTx() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // each connection to ":memory:" is a database of its own
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (note TEXT)"); err != nil {
		panic(err)
	}

	err = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
		if err := addNote(ctx, db, "kept"); err != nil {
			return err
		}
		return addNote(ctx, db, "also kept")
	})
	fmt.Println("commit:", err, countNotes(ctx, db))

	errOutOfStock := errors.New("out of stock")
	err = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
		if err := addNote(ctx, db, "undone"); err != nil {
			return err
		}
		fmt.Println("inside, before the rollback:", countNotes(ctx, db))
		return errOutOfStock
	})
	fmt.Println("rollback:", err, countNotes(ctx, db))
	// Output:
	// commit: <nil> 2
	// inside, before the rollback: 3
	// rollback: out of stock 2
}

func ExampleWithSavepoint() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (note TEXT)"); err != nil {
		panic(err)
	}

	err = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
		if err := addNote(ctx, db, "order"); err != nil {
			return err
		}
		// Sending a receipt may fail without losing the order.
		receipt := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
			if err := addNote(ctx, db, "receipt"); err != nil {
				return err
			}
			return errors.New("mail server down")
		}, sqltx.WithSavepoint())
		fmt.Println("receipt:", receipt)
		return nil
	})
	fmt.Println("commit:", err, countNotes(ctx, db))
	// Output:
	// receipt: mail server down
	// commit: <nil> 1
}
