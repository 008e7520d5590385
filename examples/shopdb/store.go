package shopdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// Errors a Store returns wrap these; match them with errors.Is. Their text has no "shopdb:"
// prefix because every error a Store method returns starts with "shopdb: <operation>: " once
// already, so a chain reads "shopdb: checkout: line 1: insufficient credit: …", not a stutter.
var (
	// ErrNotFound is returned for a user that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrEmailTaken is returned by CreateUser for an email another user has.
	ErrEmailTaken = errors.New("email taken")
	// ErrInsufficientCredit is returned when an order costs more than the user's credit.
	ErrInsufficientCredit = errors.New("insufficient credit")
	// ErrInvalid is returned for arguments no query should see: empty strings, quantities below
	// one, negative amounts, too many lines.
	ErrInvalid = errors.New("invalid argument")
)

// fail names the package and the operation, once, at the edge of an exported method.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("shopdb: %s: %w", op, err)
}

// Limits that keep one call bounded.
const (
	MaxLines      = 100  // lines in one Checkout
	MaxOrdersRead = 1000 // orders returned by one Orders call
	maxTextLen    = 256  // bytes of an email, name or item
)

// User is a customer with prepaid credit, in cents.
type User struct {
	ID          int64
	Email       string
	Name        string
	CreditCents int64
}

// Order is one line a user bought.
type Order struct {
	ID         int64
	UserID     int64
	Item       string
	Quantity   int
	TotalCents int64
}

// Line is an item to order: Quantity of Item at UnitCents each.
type Line struct {
	Item      string
	Quantity  int
	UnitCents int64
}

// Store is the repository of users and orders. Every method runs in the transaction on its db
// that the context carries (see sqltx.RunInTx), or on the db when there is none; methods that
// write several rows open a transaction of their own, which joins the caller's.
//
// A Store is safe for concurrent use.
type Store struct {
	db   *sql.DB
	opts []sqltx.Option
}

// New returns a Store on db. opts are passed to sqltx for the transactions the Store opens and
// its statements outside transactions; give it span options (sqltx.WithTracerProvider,
// sqltx.WithStatementSpans, ...), not nesting ones.
func New(db *sql.DB, opts ...sqltx.Option) *Store {
	return &Store{db: db, opts: slices.Clone(opts)}
}

func (s *Store) q(ctx context.Context) sqltx.DBTX {
	return sqltx.Querier(ctx, s.db, s.opts...)
}

// CreateUser adds a user with creditCents of credit.
func (s *Store) CreateUser(ctx context.Context, email, name string, creditCents int64) (User, error) {
	u, err := s.createUser(ctx, email, name, creditCents)
	return u, fail("create user", err)
}

func (s *Store) createUser(ctx context.Context, email, name string, creditCents int64) (User, error) {
	if err := checkText("email", email); err != nil {
		return User{}, err
	}
	if err := checkText("name", name); err != nil {
		return User{}, err
	}
	if creditCents < 0 {
		return User{}, fmt.Errorf("%w: negative credit", ErrInvalid)
	}
	u := User{Email: email, Name: name, CreditCents: creditCents}
	err := s.q(ctx).QueryRowContext(ctx,
		`INSERT INTO users (email, name, credit_cents) VALUES ($1, $2, $3)
		 ON CONFLICT (email) DO NOTHING RETURNING id`, email, name, creditCents).Scan(&u.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, fmt.Errorf("%w: %q", ErrEmailTaken, email)
	case err != nil:
		return User{}, err
	}
	return u, nil
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	u, err := s.user(ctx, "id = $1", id)
	return u, fail("user", err)
}

// UserByEmail returns the user with email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := s.user(ctx, "email = $1", email)
	return u, fail("user", err)
}

func (s *Store) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.q(ctx).QueryRowContext(ctx,
		"SELECT id, email, name, credit_cents FROM users WHERE "+where, arg).
		Scan(&u.ID, &u.Email, &u.Name, &u.CreditCents)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, fmt.Errorf("%w: user %v", ErrNotFound, arg)
	case err != nil:
		return User{}, err
	}
	return u, nil
}

// PlaceOrder debits the user's credit and records the order, both or neither. Without enough
// credit it returns ErrInsufficientCredit; for an unknown user, ErrNotFound.
func (s *Store) PlaceOrder(ctx context.Context, userID int64, l Line) (Order, error) {
	o, err := s.placeOrder(ctx, userID, l)
	return o, fail("place order", err)
}

func (s *Store) placeOrder(ctx context.Context, userID int64, l Line) (Order, error) {
	total, err := l.total()
	if err != nil {
		return Order{}, err
	}
	o := Order{UserID: userID, Item: l.Item, Quantity: l.Quantity, TotalCents: total}
	err = sqltx.RunInTx(ctx, s.db, func(ctx context.Context) error {
		q := s.q(ctx)
		// One conditional UPDATE: two orders racing for the last of the credit cannot both win.
		res, err := q.ExecContext(ctx,
			"UPDATE users SET credit_cents = credit_cents - $1 WHERE id = $2 AND credit_cents >= $1",
			total, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := s.user(ctx, "id = $1", userID); err != nil {
				return err
			}
			return fmt.Errorf("%w: order of %d cents for user %d", ErrInsufficientCredit, total, userID)
		}
		return q.QueryRowContext(ctx,
			"INSERT INTO orders (user_id, item, quantity, total_cents) VALUES ($1, $2, $3, $4) RETURNING id",
			userID, l.Item, l.Quantity, total).Scan(&o.ID)
	}, s.opts...)
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

// Checkout places one order per line in a single transaction: if any line fails (not enough
// credit, say), none is placed and the credit is untouched.
func (s *Store) Checkout(ctx context.Context, userID int64, lines []Line) ([]Order, error) {
	orders, err := s.checkout(ctx, userID, lines)
	return orders, fail("checkout", err)
}

func (s *Store) checkout(ctx context.Context, userID int64, lines []Line) ([]Order, error) {
	if len(lines) == 0 || len(lines) > MaxLines {
		return nil, fmt.Errorf("%w: %d lines, want 1 to %d", ErrInvalid, len(lines), MaxLines)
	}
	orders := make([]Order, 0, len(lines))
	err := sqltx.RunInTx(ctx, s.db, func(ctx context.Context) error {
		orders = orders[:0]
		for i, l := range lines {
			o, err := s.placeOrder(ctx, userID, l)
			if err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			orders = append(orders, o)
		}
		return nil
	}, s.opts...)
	if err != nil {
		return nil, err
	}
	return orders, nil
}

// Orders returns up to limit of the user's orders, oldest first; limit is capped at
// MaxOrdersRead, and zero or less means MaxOrdersRead.
func (s *Store) Orders(ctx context.Context, userID int64, limit int) ([]Order, error) {
	if limit <= 0 || limit > MaxOrdersRead {
		limit = MaxOrdersRead
	}
	rows, err := s.q(ctx).QueryContext(ctx,
		"SELECT id, user_id, item, quantity, total_cents FROM orders WHERE user_id = $1 ORDER BY id LIMIT $2",
		userID, limit)
	if err != nil {
		return nil, fmt.Errorf("shopdb: orders: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		var o Order
		if err := rows.Scan(&o.ID, &o.UserID, &o.Item, &o.Quantity, &o.TotalCents); err != nil {
			return nil, fmt.Errorf("shopdb: orders: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shopdb: orders: %w", err)
	}
	return out, nil
}

func (l Line) total() (int64, error) {
	if err := checkText("item", l.Item); err != nil {
		return 0, err
	}
	switch {
	case l.Quantity < 1:
		return 0, fmt.Errorf("%w: quantity %d", ErrInvalid, l.Quantity)
	case l.UnitCents < 0:
		return 0, fmt.Errorf("%w: unit price %d", ErrInvalid, l.UnitCents)
	case l.UnitCents > 0 && int64(l.Quantity) > math.MaxInt64/l.UnitCents:
		return 0, fmt.Errorf("%w: total overflows", ErrInvalid)
	}
	return int64(l.Quantity) * l.UnitCents, nil
}

func checkText(what, s string) error {
	if s == "" || len(s) > maxTextLen {
		return fmt.Errorf("%w: %s must be 1 to %d bytes", ErrInvalid, what, maxTextLen)
	}
	return nil
}
