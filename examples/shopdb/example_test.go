package shopdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/ctxtrail/ctxtrail/examples/shopdb"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// Example signs a customer up and takes the first order in one transaction, on SQLite: when the
// order fails, the sign-up is undone with it.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // each connection to ":memory:" is a database of its own
	if err := shopdb.CreateSchema(ctx, db, shopdb.SQLite); err != nil {
		panic(err)
	}
	store := shopdb.New(db)

	signUp := func(email string, credit int64, lines []shopdb.Line) error {
		return sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
			u, err := store.CreateUser(ctx, email, "Ada", credit)
			if err != nil {
				return err
			}
			_, err = store.Checkout(ctx, u.ID, lines) // joins this transaction
			return err
		})
	}

	lines := []shopdb.Line{{Item: "tea", Quantity: 2, UnitCents: 350}, {Item: "cup", Quantity: 1, UnitCents: 900}}
	err = signUp("ada@example.com", 1000, lines)
	fmt.Println("too little credit:", errors.Is(err, shopdb.ErrInsufficientCredit))
	_, err = store.UserByEmail(ctx, "ada@example.com")
	fmt.Println("user kept:", !errors.Is(err, shopdb.ErrNotFound))

	err = signUp("ada@example.com", 2000, lines)
	fmt.Println("enough credit:", err)
	u, _ := store.UserByEmail(ctx, "ada@example.com")
	orders, _ := store.Orders(ctx, u.ID, 10)
	fmt.Println("credit left:", u.CreditCents, "orders:", len(orders))
	// Output:
	// too little credit: true
	// user kept: false
	// enough credit: <nil>
	// credit left: 400 orders: 2
}
