package sqltx_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// addNote is repository code: it neither knows nor cares whether it runs in a transaction.
func addNote(ctx context.Context, db *sql.DB, note string) error {
	_, err := sqltx.Querier(ctx, db).ExecContext(ctx, "INSERT INTO notes (note) VALUES ($1)", note)
	return err
}

// The example runs against notesDB, a few lines of database/sql driver that keep the notes a
// committed transaction wrote, so that it needs no database; the dbtest module runs the same
// API against SQLite and PostgreSQL.
func ExampleRunInTx() {
	ctx := context.Background()
	store := &notesDB{}
	db := sql.OpenDB(store)
	defer db.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(ctx) }()

	err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
		if err := addNote(ctx, db, "kept"); err != nil {
			return err
		}
		return addNote(ctx, db, "also kept")
	}, sqltx.WithTracerProvider(tp))
	fmt.Println("commit:", err, store.committed())

	errOutOfStock := errors.New("out of stock")
	err = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
		if err := addNote(ctx, db, "undone"); err != nil {
			return err
		}
		return errOutOfStock
	}, sqltx.WithTracerProvider(tp))
	fmt.Println("rollback:", err, store.committed())
	for _, s := range rec.Ended() {
		fmt.Println("span:", s.Name(), s.Status().Code)
	}
	// Output:
	// commit: <nil> [kept also kept]
	// rollback: out of stock [kept also kept]
	// span: sqltx.begin Unset
	// span: sqltx.commit Unset
	// span: sqltx.transaction Unset
	// span: sqltx.begin Unset
	// span: sqltx.rollback Unset
	// span: sqltx.transaction Error
}

// notesDB is a database/sql driver whose one table is a list of notes: INSERT appends to the
// transaction's pending notes, Commit keeps them, Rollback drops them.
type notesDB struct {
	mu    sync.Mutex
	notes []string
}

func (d *notesDB) committed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.notes...)
}

func (d *notesDB) Connect(context.Context) (driver.Conn, error) { return &notesConn{db: d}, nil }
func (d *notesDB) Driver() driver.Driver                        { return nil }

type notesConn struct {
	db      *notesDB
	pending []string
	inTx    bool
}

func (c *notesConn) Prepare(string) (driver.Stmt, error) { return notesStmt{c}, nil }
func (c *notesConn) Close() error                        { return nil }
func (c *notesConn) Begin() (driver.Tx, error)           { c.inTx, c.pending = true, nil; return c, nil }

func (c *notesConn) Commit() error {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	c.db.notes = append(c.db.notes, c.pending...)
	c.inTx, c.pending = false, nil
	return nil
}

func (c *notesConn) Rollback() error { c.inTx, c.pending = false, nil; return nil }

type notesStmt struct{ c *notesConn }

func (s notesStmt) Close() error  { return nil }
func (s notesStmt) NumInput() int { return 1 }

func (s notesStmt) Exec(args []driver.Value) (driver.Result, error) {
	note, _ := args[0].(string)
	if s.c.inTx {
		s.c.pending = append(s.c.pending, note)
	} else {
		s.c.db.mu.Lock()
		s.c.db.notes = append(s.c.db.notes, note)
		s.c.db.mu.Unlock()
	}
	return driver.RowsAffected(1), nil
}

func (s notesStmt) Query([]driver.Value) (driver.Rows, error) { return nil, io.EOF }
