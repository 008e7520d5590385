package dbtest

import (
	"context"
	"database/sql"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// benchDB is an in-memory SQLite on one connection: no disk, so the figures show sqltx's own cost
// next to the cheapest real transaction there is.
func benchDB(b *testing.B) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"); err != nil {
		b.Fatal(err)
	}
	return db
}

// sdkProvider samples and records every span, as a production provider would, but exports
// nowhere, so the exporter's cost is not counted here.
func sdkProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}

const benchInsert = "INSERT INTO t (note) VALUES ('x')"

// BenchmarkTx is one transaction with one INSERT: by hand with database/sql, then through RunInTx
// with no spans, with SDK spans for the transaction, and with a span per statement too.
func BenchmarkTx(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		db, ctx := benchDB(b), context.Background()
		b.ReportAllocs()
		for b.Loop() {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, benchInsert); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	runs := []struct {
		name string
		opts func(b *testing.B) []sqltx.Option
	}{
		{name: "RunInTx/noop", opts: func(*testing.B) []sqltx.Option {
			return []sqltx.Option{sqltx.WithTracerProvider(noop.NewTracerProvider())}
		}},
		{name: "RunInTx/sdk", opts: func(b *testing.B) []sqltx.Option {
			return []sqltx.Option{sqltx.WithTracerProvider(sdkProvider(b))}
		}},
		{name: "RunInTx/sdk+statements", opts: func(b *testing.B) []sqltx.Option {
			return []sqltx.Option{sqltx.WithTracerProvider(sdkProvider(b)), sqltx.WithStatementSpans()}
		}},
	}
	for _, r := range runs {
		b.Run(r.name, func(b *testing.B) {
			db, ctx, opts := benchDB(b), context.Background(), r.opts(b)
			fn := func(ctx context.Context) error {
				_, err := sqltx.Querier(ctx, db).ExecContext(ctx, benchInsert)
				return err
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := sqltx.RunInTx(ctx, db, fn, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuerier is the lookup a repository pays on every statement.
func BenchmarkQuerier(b *testing.B) {
	db := benchDB(b)
	b.Run("no-tx", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if sqltx.Querier(ctx, db) == nil {
				b.Fatal("nil")
			}
		}
	})
	b.Run("in-tx", func(b *testing.B) {
		err := sqltx.RunInTx(context.Background(), db, func(ctx context.Context) error {
			b.ReportAllocs()
			for b.Loop() {
				if sqltx.Querier(ctx, db) == nil {
					b.Fatal("nil")
				}
			}
			return nil
		}, sqltx.WithTracerProvider(noop.NewTracerProvider()))
		if err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkJoin is a nested RunInTx that joins the outer transaction: no SQL at all.
func BenchmarkJoin(b *testing.B) {
	db := benchDB(b)
	noSpans := sqltx.WithTracerProvider(noop.NewTracerProvider())
	nothing := func(context.Context) error { return nil }
	err := sqltx.RunInTx(context.Background(), db, func(ctx context.Context) error {
		b.ReportAllocs()
		for b.Loop() {
			if err := sqltx.RunInTx(ctx, db, nothing, noSpans); err != nil {
				return err
			}
		}
		return nil
	}, noSpans)
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSavepoint is a nested RunInTx in a savepoint: SAVEPOINT and RELEASE on SQLite.
func BenchmarkSavepoint(b *testing.B) {
	db := benchDB(b)
	noSpans := sqltx.WithTracerProvider(noop.NewTracerProvider())
	nothing := func(context.Context) error { return nil }
	err := sqltx.RunInTx(context.Background(), db, func(ctx context.Context) error {
		b.ReportAllocs()
		for b.Loop() {
			if err := sqltx.RunInTx(ctx, db, nothing, noSpans, sqltx.WithSavepoint()); err != nil {
				return err
			}
		}
		return nil
	}, noSpans)
	if err != nil {
		b.Fatal(err)
	}
}
