// Package dbtest holds sqltx's tests against real databases, SQLite (modernc.org/sqlite, pure
// Go) and PostgreSQL (pgx), with its runnable examples. It is a module of its own so that the
// drivers never enter the library's go.mod; the library's own sqltx tests need no database.
//
//	go test ./otelctx/sqltx/dbtest    # from the repository root (go.work); PostgreSQL: see DEVELOPERS.md
package dbtest
