package shopdb_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail/examples/shopdb"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		store := shopdb.New(db)
		ctx := t.Context()
		ada, err := store.CreateUser(ctx, "ada@example.com", "Ada", 500)
		if err != nil {
			t.Fatal(err)
		}
		if ada.ID == 0 {
			t.Fatal("CreateUser returned no id")
		}
		byID, err := store.User(ctx, ada.ID)
		if err != nil || byID != ada {
			t.Fatalf("User(%d) = %+v, %v; want %+v", ada.ID, byID, err, ada)
		}
		byEmail, err := store.UserByEmail(ctx, "ada@example.com")
		if err != nil || byEmail != ada {
			t.Fatalf("UserByEmail = %+v, %v; want %+v", byEmail, err, ada)
		}

		tests := []struct {
			name string
			call func() error
			want error
		}{
			{name: "email taken", want: shopdb.ErrEmailTaken, call: func() error {
				_, err := store.CreateUser(ctx, "ada@example.com", "Other Ada", 0)
				return err
			}},
			{name: "unknown id", want: shopdb.ErrNotFound, call: func() error {
				_, err := store.User(ctx, ada.ID+1000)
				return err
			}},
			{name: "unknown email", want: shopdb.ErrNotFound, call: func() error {
				_, err := store.UserByEmail(ctx, "nobody@example.com")
				return err
			}},
			{name: "empty email", want: shopdb.ErrInvalid, call: func() error {
				_, err := store.CreateUser(ctx, "", "X", 0)
				return err
			}},
			{name: "huge name", want: shopdb.ErrInvalid, call: func() error {
				_, err := store.CreateUser(ctx, "x@example.com", strings.Repeat("x", 1000), 0)
				return err
			}},
			{name: "negative credit", want: shopdb.ErrInvalid, call: func() error {
				_, err := store.CreateUser(ctx, "y@example.com", "Y", -1)
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			})
		}
	})
}

func TestPlaceOrder(t *testing.T) {
	tests := []struct {
		name       string
		line       shopdb.Line
		userID     func(real int64) int64
		wantErr    error
		wantCredit int64
	}{
		{name: "debits credit", line: shopdb.Line{Item: "tea", Quantity: 3, UnitCents: 100}, wantCredit: 200},
		{name: "exactly all the credit", line: shopdb.Line{Item: "tea", Quantity: 5, UnitCents: 100}, wantCredit: 0},
		{name: "too expensive", line: shopdb.Line{Item: "tea", Quantity: 6, UnitCents: 100},
			wantErr: shopdb.ErrInsufficientCredit, wantCredit: 500},
		{name: "unknown user", line: shopdb.Line{Item: "tea", Quantity: 1, UnitCents: 1},
			userID: func(id int64) int64 { return id + 1000 }, wantErr: shopdb.ErrNotFound, wantCredit: 500},
		{name: "zero quantity", line: shopdb.Line{Item: "tea", Quantity: 0, UnitCents: 1},
			wantErr: shopdb.ErrInvalid, wantCredit: 500},
		{name: "overflowing total", line: shopdb.Line{Item: "tea", Quantity: 1 << 30, UnitCents: 1 << 40},
			wantErr: shopdb.ErrInvalid, wantCredit: 500},
	}
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		store := shopdb.New(db)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				u, err := store.CreateUser(ctx, "u"+string(rune('a'+i))+"@example.com", "U", 500)
				if err != nil {
					t.Fatal(err)
				}
				id := u.ID
				if tt.userID != nil {
					id = tt.userID(u.ID)
				}
				o, err := store.PlaceOrder(ctx, id, tt.line)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PlaceOrder = %+v, %v; want %v", o, err, tt.wantErr)
				}
				after, err := store.User(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.CreditCents != tt.wantCredit {
					t.Errorf("credit = %d, want %d", after.CreditCents, tt.wantCredit)
				}
				orders, err := store.Orders(ctx, u.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				wantOrders := 0
				if tt.wantErr == nil {
					wantOrders = 1
				}
				if len(orders) != wantOrders {
					t.Fatalf("%d orders, want %d", len(orders), wantOrders)
				}
				if wantOrders == 1 && orders[0] != o {
					t.Errorf("order read back = %+v, want %+v", orders[0], o)
				}
			})
		}
	})
}

func TestCheckoutIsAllOrNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		store := shopdb.New(db)
		ctx := t.Context()
		u, err := store.CreateUser(ctx, "bob@example.com", "Bob", 1000)
		if err != nil {
			t.Fatal(err)
		}
		// The third line overdraws: the first two must not stay.
		_, err = store.Checkout(ctx, u.ID, []shopdb.Line{
			{Item: "pen", Quantity: 2, UnitCents: 150},
			{Item: "ink", Quantity: 1, UnitCents: 400},
			{Item: "desk", Quantity: 1, UnitCents: 900},
		})
		if !errors.Is(err, shopdb.ErrInsufficientCredit) || !strings.Contains(err.Error(), "line 3") {
			t.Fatalf("Checkout = %v, want ErrInsufficientCredit on line 3", err)
		}
		// The package and the operation are named once, however deep the error came from.
		if want := "shopdb: checkout: line 3: insufficient credit: order of 900 cents for user "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Checkout error %q, want it to start %q", err, want)
		}
		assertAccount(t, store, u.ID, 1000, 0)

		orders, err := store.Checkout(ctx, u.ID, []shopdb.Line{
			{Item: "pen", Quantity: 2, UnitCents: 150},
			{Item: "ink", Quantity: 1, UnitCents: 400},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(orders) != 2 || orders[0].TotalCents != 300 || orders[1].TotalCents != 400 {
			t.Fatalf("orders = %+v", orders)
		}
		assertAccount(t, store, u.ID, 300, 2)

		if _, err := store.Checkout(ctx, u.ID, nil); !errors.Is(err, shopdb.ErrInvalid) {
			t.Fatalf("empty Checkout = %v, want ErrInvalid", err)
		}
	})
}

// TestCallerTransaction shows the repository joining the caller's transaction: the user and the
// orders go together, and an error after them undoes both.
func TestCallerTransaction(t *testing.T) {
	errPayment := errors.New("payment declined")
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		store := shopdb.New(db)
		ctx := t.Context()
		var id int64
		err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
			u, err := store.CreateUser(ctx, "cy@example.com", "Cy", 1000)
			if err != nil {
				return err
			}
			id = u.ID
			if _, err := store.Checkout(ctx, u.ID, []shopdb.Line{{Item: "hat", Quantity: 1, UnitCents: 250}}); err != nil {
				return err
			}
			// The transaction sees its own work before the commit.
			assertAccountCtx(t, ctx, store, u.ID, 750, 1)
			return errPayment
		})
		if err != errPayment {
			t.Fatalf("RunInTx = %v, want %v", err, errPayment)
		}
		if _, err := store.User(ctx, id); !errors.Is(err, shopdb.ErrNotFound) {
			t.Fatalf("user after rollback: %v, want ErrNotFound", err)
		}
		if orders, err := store.Orders(ctx, id, 0); err != nil || len(orders) != 0 {
			t.Fatalf("orders after rollback = %v, %v; want none", orders, err)
		}
	})
}

// TestConcurrentOrdersNeverOverspend has 20 goroutines order at once against credit for 7: the
// conditional debit lets exactly 7 through, on both databases.
func TestConcurrentOrdersNeverOverspend(t *testing.T) {
	const buyers, affordable = 20, 7
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		store := shopdb.New(db)
		u, err := store.CreateUser(t.Context(), "dee@example.com", "Dee", affordable*100)
		if err != nil {
			t.Fatal(err)
		}
		errs := make([]error, buyers)
		var wg sync.WaitGroup
		for i := range buyers {
			wg.Go(func() {
				_, errs[i] = store.PlaceOrder(t.Context(), u.ID, shopdb.Line{Item: "cake", Quantity: 1, UnitCents: 100})
			})
		}
		wg.Wait()
		placed := 0
		for _, err := range errs {
			switch {
			case err == nil:
				placed++
			case !errors.Is(err, shopdb.ErrInsufficientCredit):
				t.Errorf("PlaceOrder: %v", err)
			}
		}
		if placed != affordable {
			t.Errorf("%d orders placed, want %d", placed, affordable)
		}
		assertAccount(t, store, u.ID, 0, affordable)
	})
}

func TestSpans(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		store := shopdb.New(db, sqltx.WithTracerProvider(tp), sqltx.WithStatementSpans())
		ctx, root := tp.Tracer("test").Start(t.Context(), "checkout handler")
		u, err := store.CreateUser(ctx, "eve@example.com", "Eve", 1000)
		if err != nil {
			t.Fatal(err)
		}
		rec.Reset()
		if _, err := store.Checkout(ctx, u.ID, []shopdb.Line{
			{Item: "a", Quantity: 1, UnitCents: 1},
			{Item: "b", Quantity: 1, UnitCents: 1},
		}); err != nil {
			t.Fatal(err)
		}
		root.End()

		byName := map[string]int{}
		var tx sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			byName[sp.Name()]++
			if sp.Name() == sqltx.SpanTransaction {
				tx = sp
			}
		}
		// One transaction for the whole checkout: the PlaceOrder calls join it.
		want := map[string]int{
			sqltx.SpanTransaction: 1, sqltx.SpanBegin: 1, sqltx.SpanCommit: 1,
			"UPDATE": 2, "INSERT": 2, "checkout handler": 1,
		}
		for name, n := range want {
			if byName[name] != n {
				t.Errorf("%d %q spans, want %d (all: %v)", byName[name], name, n, byName)
			}
		}
		if tx == nil || tx.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Fatal("the transaction span is not a child of the handler's span")
		}
		for _, sp := range rec.Ended() {
			if sp.Name() == "UPDATE" || sp.Name() == "INSERT" {
				if sp.Parent().SpanID() != tx.SpanContext().SpanID() {
					t.Errorf("statement span %q is not a child of the transaction span", sp.Name())
				}
			}
		}
	})
}

func TestCreateSchemaRefusesUnknownDialect(t *testing.T) {
	db := openSQLite(t)
	if err := shopdb.CreateSchema(t.Context(), db, shopdb.Dialect(0)); !errors.Is(err, shopdb.ErrInvalid) {
		t.Fatalf("CreateSchema(0) = %v, want ErrInvalid", err)
	}
	// A second call on an existing schema is harmless.
	if err := shopdb.CreateSchema(t.Context(), db, shopdb.SQLite); err != nil {
		t.Fatal(err)
	}
}

func assertAccount(t *testing.T, store *shopdb.Store, userID, credit int64, orders int) {
	t.Helper()
	assertAccountCtx(t, t.Context(), store, userID, credit, orders)
}

func assertAccountCtx(t *testing.T, ctx context.Context, store *shopdb.Store, userID, credit int64, orders int) {
	t.Helper()
	u, err := store.User(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if u.CreditCents != credit {
		t.Errorf("credit = %d, want %d", u.CreditCents, credit)
	}
	got, err := store.Orders(ctx, userID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != orders {
		t.Errorf("%d orders, want %d", len(got), orders)
	}
}
