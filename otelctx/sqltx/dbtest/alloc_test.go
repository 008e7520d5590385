package dbtest

import (
	"context"
	"database/sql"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
)

// TestAllocQuerierAndJoin: BENCHMARKS.md's "Querier costs nothing" and "joining an outer
// transaction: 0 allocations" as a test, on an in-memory SQLite.
func TestAllocQuerierAndJoin(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	noSpans := sqltx.WithTracerProvider(noop.NewTracerProvider())
	nothing := func(context.Context) error { return nil }

	if n := testing.AllocsPerRun(200, func() { _ = sqltx.Querier(context.Background(), db) }); n != 0 {
		t.Errorf("Querier outside a transaction allocates %v times, want 0", n)
	}
	err = sqltx.RunInTx(context.Background(), db, func(ctx context.Context) error {
		if n := testing.AllocsPerRun(200, func() { _ = sqltx.Querier(ctx, db) }); n != 0 {
			t.Errorf("Querier inside a transaction allocates %v times, want 0", n)
		}
		if n := testing.AllocsPerRun(200, func() {
			if err := sqltx.RunInTx(ctx, db, nothing, noSpans); err != nil {
				t.Error(err)
			}
		}); n != 0 {
			t.Errorf("joining the outer transaction allocates %v times, want 0", n)
		}
		return nil
	}, noSpans)
	if err != nil {
		t.Fatal(err)
	}
}
