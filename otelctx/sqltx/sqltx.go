package sqltx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

var (
	// ErrNilArgument is returned by RunInTx for a nil context, db or fn.
	ErrNilArgument = errors.New("sqltx: nil argument")
	// ErrRollbackOnly is returned by a RunInTx whose fn succeeded but a call that joined its
	// transaction failed: the work of that call may be half done, so the transaction is rolled
	// back. The joined call's error is wrapped too.
	ErrRollbackOnly = errors.New("sqltx: a joined call failed; transaction rolled back")
	// ErrTxOptionsConflict is returned when a nested RunInTx asks for an isolation level other
	// than the one of the transaction it would run in.
	ErrTxOptionsConflict = errors.New("sqltx: transaction options conflict with the outer transaction")
)

// errGoexit stands for fn calling runtime.Goexit (t.FailNow, for one) on spans.
var errGoexit = errors.New("sqltx: fn called runtime.Goexit")

// RunInTx runs fn inside a transaction on db and returns fn's error.
//
// With no transaction on db in ctx, RunInTx begins one (with the options of WithTxOptions), runs
// fn with a context that carries it, commits if fn returns nil and rolls back if fn returns an
// error or panics; after a panic the rollback runs and the panic goes on. An error of fn comes back
// unchanged when the rollback succeeds, and wrapped together with the rollback's error when it
// does not; a commit error is wrapped. If ctx ends before the commit, database/sql has already
// rolled the transaction back and the commit error says so.
//
// With a transaction on db in ctx, RunInTx by default joins it: fn runs in it with ctx as is, and
// an error or panic in fn marks the transaction rollback-only, so that the outermost RunInTx rolls
// back even if its fn swallows the error (it then returns ErrRollbackOnly). WithSavepoint runs fn
// in a savepoint instead, which an error undoes without harming the outer transaction; WithNewTx
// begins an independent transaction.
//
// Inside fn, get the transaction with Querier(ctx, db); do not Commit or Rollback it yourself.
// The context fn receives must not be used for this db after RunInTx returns: statements on it
// fail with sql.ErrTxDone.
func RunInTx(ctx context.Context, db *sql.DB, fn func(context.Context) error, opts ...Option) error {
	switch {
	case ctx == nil:
		return fmt.Errorf("%w: context", ErrNilArgument)
	case db == nil:
		return fmt.Errorf("%w: db", ErrNilArgument)
	case fn == nil:
		return fmt.Errorf("%w: fn", ErrNilArgument)
	}
	c := newConfig(opts)
	outer := lookup(ctx, db)
	if outer != nil && !c.tpSet {
		c.tp = outer.root.tp
	}
	if outer == nil || c.nesting == nestNew {
		return runNew(ctx, db, fn, c, outer != nil)
	}
	if outer.ended.Load() || outer.root.done.Load() {
		return fmt.Errorf("sqltx: the context's transaction or savepoint has ended: %w", sql.ErrTxDone)
	}
	if c.txOptsSet && c.txOpts.Isolation != sql.LevelDefault && c.txOpts.Isolation != outer.root.opts.Isolation {
		return fmt.Errorf("%w: asked for %v in a %v transaction", ErrTxOptionsConflict,
			c.txOpts.Isolation, outer.root.opts.Isolation)
	}
	if c.nesting == nestSavepoint {
		return runSavepoint(ctx, outer, fn, c)
	}
	return runJoined(ctx, outer, fn)
}

// Querier returns the transaction on db that ctx carries, or db itself when it carries none, so a
// repository never cares which it has. Inside a transaction begun with WithStatementSpans or
// WithStatementText, statements make spans; outside one, opts decide (only the span options
// apply). A nil db with no transaction in ctx gives a nil *sql.DB, whose methods panic as usual.
func Querier(ctx context.Context, db *sql.DB, opts ...Option) DBTX {
	if s := lookup(ctx, db); s != nil {
		return s.root.q
	}
	if len(opts) > 0 && db != nil {
		if c := newConfig(opts); c.statements {
			return newTracedQuerier(db, c, systemFor(db, c.system))
		}
	}
	return db
}

// Tx returns the transaction on db that ctx carries, for what DBTX lacks (PrepareContext,
// StmtContext). It is owned by RunInTx: do not Commit or Rollback it.
func Tx(ctx context.Context, db *sql.DB) (*sql.Tx, bool) {
	if s := lookup(ctx, db); s != nil {
		return s.root.tx, true
	}
	return nil, false
}

// runNew begins a transaction, runs fn in it and commits or rolls back.
func runNew(ctx context.Context, db *sql.DB, fn func(context.Context) error, c config, hidesOuter bool) error {
	tracer := c.tracer()
	system := systemFor(db, c.system)
	sys := systemAttrs(system)
	attrs := make([]attribute.KeyValue, 0, len(sys)+3)
	attrs = append(attrs, sys...)
	attrs = append(attrs, AttrIsolation.String(c.txOpts.Isolation.String()), AttrReadOnly.Bool(c.txOpts.ReadOnly))
	if hidesOuter {
		attrs = append(attrs, AttrNewTx.Bool(true))
	}
	ctx, span := tracer.Start(ctx, SpanTransaction, trace.WithAttributes(attrs...))

	bspan := clientSpan(tracer, ctx, SpanBegin, "BEGIN", sys)
	tx, err := db.BeginTx(ctx, &c.txOpts)
	endSpan(bspan, err)
	if err != nil {
		err = fmt.Errorf("sqltx: begin: %w", err)
		markError(span, err)
		span.End()
		return err
	}

	root := &txRoot{db: db, tx: tx, opts: c.txOpts, q: tx, system: system, tp: c.tp}
	if c.statements {
		root.q = newTracedQuerier(tx, c, system)
	}
	s := &scope{root: root, parent: scopeFrom(ctx)}
	defer s.ended.Store(true)

	undo := func() error {
		if err := root.rollback(ctx, tracer, sys); err != nil {
			return fmt.Errorf("sqltx: rollback: %w", err)
		}
		return nil
	}
	if ended, err := runScope(ctx, s, span, fn, undo); ended {
		return err
	}

	if err := root.commit(ctx, tracer, sys); err != nil {
		err = fmt.Errorf("sqltx: commit: %w", err)
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (context ended first: %w)", err, ctxErr)
		}
		span.SetAttributes(AttrOutcome.String("commit_failed"))
		markError(span, err)
		span.End()
		return err
	}
	span.SetAttributes(AttrOutcome.String("commit"))
	span.End()
	return nil
}

// runScope runs fn with s in its context. If fn panics, calls runtime.Goexit or returns an error,
// or s was marked rollback-only, it calls undo (a rollback, or a rollback to the savepoint),
// records the outcome on span, ends it and reports ended; a panic or Goexit then goes on.
// Otherwise it leaves span to the caller, which commits or releases.
func runScope(ctx context.Context, s *scope, span trace.Span, fn func(context.Context) error, undo func() error) (ended bool, err error) {
	finished := false
	defer func() {
		if finished {
			return
		}
		r := recover()
		cause, reason := errGoexit, "goexit"
		if r != nil {
			cause, reason = panicError(r), "panic"
		}
		if rbErr := undo(); rbErr != nil {
			span.RecordError(rbErr)
		}
		span.SetAttributes(AttrOutcome.String("rollback"), AttrRollbackReason.String(reason))
		markError(span, cause)
		span.End()
		if r != nil {
			panic(r)
		}
	}()
	err = fn(context.WithValue(ctx, scopeKey{}, s))
	finished = true

	reason := "error"
	if err == nil {
		if cause := s.rollbackCause(); cause != nil {
			err, reason = fmt.Errorf("%w: %w", ErrRollbackOnly, cause), "rollback_only"
		}
	}
	if err == nil {
		return false, nil
	}
	if rbErr := undo(); rbErr != nil {
		err = fmt.Errorf("%w (%w)", err, rbErr)
	}
	span.SetAttributes(AttrOutcome.String("rollback"), AttrRollbackReason.String(reason))
	markError(span, err)
	span.End()
	return true, err
}

// runSavepoint runs fn between SAVEPOINT and RELEASE in outer's transaction, rolling back to the
// savepoint when fn fails.
func runSavepoint(ctx context.Context, outer *scope, fn func(context.Context) error, c config) error {
	root := outer.root
	tracer := c.tracer()
	sys := systemAttrs(root.system)
	name := "ctxtrail_sp_" + strconv.FormatUint(root.seq.Add(1), 10)
	attrs := make([]attribute.KeyValue, 0, len(sys)+1)
	attrs = append(attrs, sys...)
	attrs = append(attrs, AttrSavepoint.String(name))
	ctx, span := tracer.Start(ctx, SpanNested, trace.WithAttributes(attrs...))

	sspan := clientSpan(tracer, ctx, SpanSavepoint, "SAVEPOINT", sys)
	_, err := root.tx.ExecContext(ctx, "SAVEPOINT "+name)
	endSpan(sspan, err)
	if err != nil {
		err = fmt.Errorf("sqltx: savepoint: %w", err)
		markError(span, err)
		span.End()
		return err
	}
	s := &scope{root: root, parent: scopeFrom(ctx)}
	defer s.ended.Store(true)

	undo := func() error {
		rbErr := rollbackTo(ctx, root, name, tracer, sys)
		if rbErr != nil {
			// The savepoint's work may still be in the transaction: the outer scope must not commit.
			outer.markRollbackOnly(rbErr)
		}
		return rbErr
	}
	if ended, err := runScope(ctx, s, span, fn, undo); ended {
		return err
	}

	rspan := clientSpan(tracer, ctx, SpanRelease, "RELEASE", sys)
	_, err = root.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE SAVEPOINT "+name)
	endSpan(rspan, err)
	if err != nil {
		err = fmt.Errorf("sqltx: release savepoint: %w", err)
		outer.markRollbackOnly(err)
		span.SetAttributes(AttrOutcome.String("release_failed"))
		markError(span, err)
		span.End()
		return err
	}
	span.SetAttributes(AttrOutcome.String("release"))
	span.End()
	return nil
}

// runJoined runs fn in the transaction of s. A failure marks s rollback-only; a panic does too and
// goes on up to the RunInTx that began the transaction or savepoint, which rolls back.
func runJoined(ctx context.Context, s *scope, fn func(context.Context) error) error {
	finished := false
	defer func() {
		if !finished {
			s.markRollbackOnly(errors.New("sqltx: a joined call panicked or called runtime.Goexit"))
		}
	}()
	err := fn(ctx)
	finished = true
	if err != nil {
		s.markRollbackOnly(err)
	}
	return err
}

func (r *txRoot) commit(ctx context.Context, tracer trace.Tracer, sys []attribute.KeyValue) error {
	r.done.Store(true)
	span := clientSpan(tracer, ctx, SpanCommit, "COMMIT", sys)
	err := r.tx.Commit()
	endSpan(span, err)
	return err
}

// rollback rolls the transaction back. When ctx has ended, database/sql rolls back on its own
// and the driver may drop the connection (which rolls back on the server), so sql.ErrTxDone or
// the context's error from Rollback is the expected outcome, not a failure.
func (r *txRoot) rollback(ctx context.Context, tracer trace.Tracer, sys []attribute.KeyValue) error {
	r.done.Store(true)
	span := clientSpan(tracer, ctx, SpanRollback, "ROLLBACK", sys)
	err := r.tx.Rollback()
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil && (errors.Is(err, sql.ErrTxDone) || errors.Is(err, ctxErr)) {
		span.AddEvent("rolled back when the context ended",
			trace.WithAttributes(attribute.String("sqltx.rollback.detail", capText(err.Error(), maxStatusLen))))
		err = nil
	}
	endSpan(span, err)
	return err
}

// rollbackTo undoes the savepoint's work and drops it. It runs even when ctx has ended (ctx may
// be shorter-lived than the transaction), bounded by the transaction's own context.
func rollbackTo(ctx context.Context, root *txRoot, name string, tracer trace.Tracer, sys []attribute.KeyValue) error {
	span := clientSpan(tracer, ctx, SpanRollbackTo, "ROLLBACK", sys)
	cctx := context.WithoutCancel(ctx)
	_, err := root.tx.ExecContext(cctx, "ROLLBACK TO SAVEPOINT "+name)
	if err == nil {
		_, err = root.tx.ExecContext(cctx, "RELEASE SAVEPOINT "+name)
	}
	if err != nil {
		err = fmt.Errorf("sqltx: rollback to savepoint: %w", err)
	}
	endSpan(span, err)
	return err
}

// maxPanicLen caps the text of a panic value put on a span.
const maxPanicLen = 512

func panicError(r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("panic: %w", err)
	}
	return fmt.Errorf("panic: %s", capText(fmt.Sprint(r), maxPanicLen))
}
