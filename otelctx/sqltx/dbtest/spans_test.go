package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

func newRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, rec
}

// spanTree indexes ended spans for assertions.
type spanTree struct {
	t     *testing.T
	spans []sdktrace.ReadOnlySpan
}

// one returns the only span called name whose parent is parent.
func (s spanTree) one(name string, parent sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	s.t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, sp := range s.spans {
		if sp.Name() == name && sp.Parent().SpanID() == parent.SpanContext().SpanID() {
			found = append(found, sp)
		}
	}
	if len(found) != 1 {
		s.t.Fatalf("%d spans %q under %q, want 1; all spans: %s", len(found), name, parent.Name(), s)
	}
	return found[0]
}

func (s spanTree) String() string {
	var b strings.Builder
	for _, sp := range s.spans {
		b.WriteString(sp.Name() + " ")
	}
	return b.String()
}

func attr(sp sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range sp.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, sp sdktrace.ReadOnlySpan, key attribute.Key, want any) {
	t.Helper()
	v, ok := attr(sp, key)
	if !ok {
		t.Errorf("span %q has no %s", sp.Name(), key)
		return
	}
	if got := v.AsInterface(); got != want {
		t.Errorf("span %q: %s = %v, want %v", sp.Name(), key, got, want)
	}
}

func TestSpansOfACommittedTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, system string) {
		tp, rec := newRecorder(t)
		table := newTable(t, db)
		ctx, request := tp.Tracer("test").Start(t.Context(), "request")
		insertStmt := "INSERT INTO " + table + " (note) VALUES ($1)"
		const textLimit = 24
		withTP := sqltx.WithTracerProvider(tp)
		err := sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
			if _, err := sqltx.Querier(ctx, db).ExecContext(ctx, insertStmt, "outer"); err != nil {
				return err
			}
			_ = sqltx.RunInTx(ctx, db, func(ctx context.Context) error {
				if _, err := sqltx.Querier(ctx, db).ExecContext(ctx, insertStmt, "inner"); err != nil {
					return err
				}
				return errBoom
			}, sqltx.WithSavepoint()) // no WithTracerProvider: inherits the transaction's
			// A joined call makes no span of its own.
			return sqltx.RunInTx(ctx, db, func(context.Context) error { return nil })
		}, withTP, sqltx.WithStatementText(textLimit))
		request.End()
		if err != nil {
			t.Fatal(err)
		}

		tree := spanTree{t: t, spans: rec.Ended()}
		if len(tree.spans) != 9 {
			t.Fatalf("%d spans, want 9: %s", len(tree.spans), tree)
		}
		for _, sp := range tree.spans {
			if sp.SpanContext().TraceID() != request.SpanContext().TraceID() {
				t.Errorf("span %q is in another trace", sp.Name())
			}
		}
		reqSpan := tree.spans[len(tree.spans)-1]
		if reqSpan.Name() != "request" {
			t.Fatalf("last ended span = %q, want request", reqSpan.Name())
		}
		txSpan := tree.one(sqltx.SpanTransaction, reqSpan)
		wantAttr(t, txSpan, "db.system.name", system)
		wantAttr(t, txSpan, sqltx.AttrDBSystem, system)
		wantAttr(t, txSpan, sqltx.AttrOutcome, "commit")
		wantAttr(t, txSpan, sqltx.AttrIsolation, "Default")
		wantAttr(t, txSpan, sqltx.AttrReadOnly, false)
		if txSpan.Status().Code == codes.Error {
			t.Errorf("committed transaction span has status %v", txSpan.Status())
		}

		begin := tree.one(sqltx.SpanBegin, txSpan)
		if begin.SpanKind() != trace.SpanKindClient {
			t.Errorf("begin span kind = %v, want client", begin.SpanKind())
		}
		wantAttr(t, begin, "db.operation.name", "BEGIN")
		wantAttr(t, tree.one(sqltx.SpanCommit, txSpan), "db.operation.name", "COMMIT")

		stmt := tree.one("INSERT", txSpan)
		wantAttr(t, stmt, "db.operation.name", "INSERT")
		wantAttr(t, stmt, "db.system.name", system)
		text, _ := attr(stmt, "db.query.text")
		if got := text.AsString(); len(got) != textLimit || !strings.HasPrefix(insertStmt, got) {
			t.Errorf("db.query.text = %q, want the first %d bytes of %q", got, textLimit, insertStmt)
		}

		nested := tree.one(sqltx.SpanNested, txSpan)
		wantAttr(t, nested, sqltx.AttrOutcome, "rollback")
		wantAttr(t, nested, sqltx.AttrRollbackReason, "error")
		if nested.Status().Code != codes.Error {
			t.Errorf("failed savepoint span status = %v, want Error", nested.Status())
		}
		tree.one(sqltx.SpanSavepoint, nested)
		tree.one("INSERT", nested)
		tree.one(sqltx.SpanRollbackTo, nested)
	})
}

func TestSpansOfARolledBackTransaction(t *testing.T) {
	tests := []struct {
		name       string
		fn         func(context.Context) error
		wantReason string
	}{
		{name: "error", fn: func(context.Context) error { return errBoom }, wantReason: "error"},
		{name: "panic", fn: func(context.Context) error { panic("kaboom") }, wantReason: "panic"},
	}
	forEachDB(t, func(t *testing.T, db *sql.DB, _ string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tp, rec := newRecorder(t)
				ctx, request := tp.Tracer("test").Start(t.Context(), "request")
				func() {
					defer func() { recover() }()
					_ = sqltx.RunInTx(ctx, db, tt.fn, sqltx.WithTracerProvider(tp))
				}()
				request.End()

				tree := spanTree{t: t, spans: rec.Ended()}
				if len(tree.spans) != 4 { // request, transaction, begin, rollback: no statement spans by default
					t.Fatalf("%d spans, want 4: %s", len(tree.spans), tree)
				}
				txSpan := tree.one(sqltx.SpanTransaction, tree.spans[len(tree.spans)-1])
				wantAttr(t, txSpan, sqltx.AttrOutcome, "rollback")
				wantAttr(t, txSpan, sqltx.AttrRollbackReason, tt.wantReason)
				if txSpan.Status().Code != codes.Error {
					t.Errorf("status = %v, want Error", txSpan.Status())
				}
				var exception bool
				for _, ev := range txSpan.Events() {
					exception = exception || ev.Name == "exception"
				}
				if !exception {
					t.Error("the transaction span records no exception event")
				}
				tree.one(sqltx.SpanBegin, txSpan)
				wantAttr(t, tree.one(sqltx.SpanRollback, txSpan), "db.operation.name", "ROLLBACK")
			})
		}
	})
}

func TestSpansOfANewTxNestInTheOuter(t *testing.T) {
	db := openSQLite(t)
	tp, rec := newRecorder(t)
	withTP := sqltx.WithTracerProvider(tp)
	err := sqltx.RunInTx(t.Context(), db, func(ctx context.Context) error {
		return sqltx.RunInTx(ctx, db, func(context.Context) error { return nil }, sqltx.WithNewTx())
	}, withTP)
	if err != nil {
		t.Fatal(err)
	}
	tree := spanTree{t: t, spans: rec.Ended()}
	outer := tree.spans[len(tree.spans)-1]
	inner := tree.one(sqltx.SpanTransaction, outer)
	wantAttr(t, inner, sqltx.AttrNewTx, true)
	tree.one(sqltx.SpanBegin, inner)
	tree.one(sqltx.SpanCommit, inner)
}

func TestStatementSpansOutsideATransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sql.DB, system string) {
		tp, rec := newRecorder(t)
		ctx, parent := tp.Tracer("test").Start(t.Context(), "parent")
		q := sqltx.Querier(ctx, db, sqltx.WithTracerProvider(tp), sqltx.WithStatementSpans())
		var one int
		if err := q.QueryRowContext(ctx, "  /* hint */ select 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
		if _, err := q.ExecContext(ctx, "no such statement"); err == nil {
			t.Fatal("a bad statement succeeded")
		}
		parent.End()

		tree := spanTree{t: t, spans: rec.Ended()}
		sel := tree.one("SELECT", tree.spans[len(tree.spans)-1])
		if _, ok := attr(sel, "db.query.text"); ok {
			t.Error("statement text recorded without WithStatementText")
		}
		bad := tree.one("NO", tree.spans[len(tree.spans)-1])
		if bad.Status().Code != codes.Error {
			t.Errorf("failed statement span status = %v, want Error", bad.Status())
		}
		wantAttr(t, bad, "db.system.name", system)

		// Without span options Querier hands back the db itself: nothing to pay for.
		if q := sqltx.Querier(ctx, db); q != sqltx.DBTX(db) {
			t.Errorf("Querier without options = %T, want *sql.DB", q)
		}
	})
}

func TestDBSystemOption(t *testing.T) {
	db := openSQLite(t)
	tp, rec := newRecorder(t)
	err := sqltx.RunInTx(t.Context(), db, func(context.Context) error { return nil },
		sqltx.WithTracerProvider(tp), sqltx.WithDBSystem("custom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range rec.Ended() {
		wantAttr(t, sp, "db.system.name", "custom")
	}
}
