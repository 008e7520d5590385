package sqltx

import (
	"context"
	"database/sql"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// DBTX is what *sql.DB, *sql.Tx and *sql.Conn have in common for running statements (the name
// sqlc gives the same interface). A repository written against it, through Querier, runs the same
// code inside and outside a transaction.
type DBTX interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ DBTX = (*sql.DB)(nil)
	_ DBTX = (*sql.Tx)(nil)
	_ DBTX = (*sql.Conn)(nil)
	_ DBTX = (*tracedQuerier)(nil)
)

// tracedQuerier wraps a DBTX with one client span per statement. The span covers the call
// only: for QueryContext, reading the rows afterwards is not part of it.
type tracedQuerier struct {
	q         DBTX
	tracer    trace.Tracer
	system    string
	sysAttrs  []attribute.KeyValue
	textLimit int
}

func newTracedQuerier(q DBTX, c config, system string) *tracedQuerier {
	return &tracedQuerier{
		q:         q,
		tracer:    c.tracer(),
		system:    system,
		sysAttrs:  systemAttrs(system),
		textLimit: c.textLimit,
	}
}

func (t *tracedQuerier) start(ctx context.Context, query string) (context.Context, trace.Span) {
	op := operationName(query)
	name := op
	if name == "" {
		name = t.system
	}
	attrs := make([]attribute.KeyValue, 0, len(t.sysAttrs)+2)
	attrs = append(attrs, t.sysAttrs...)
	if op != "" {
		attrs = append(attrs, semconv.DBOperationNameKey.String(op))
	}
	if t.textLimit > 0 {
		attrs = append(attrs, semconv.DBQueryTextKey.String(capText(query, t.textLimit)))
	}
	return t.tracer.Start(ctx, name, clientKind, trace.WithAttributes(attrs...))
}

// ExecContext runs query through the wrapped DBTX inside a client span.
func (t *tracedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, span := t.start(ctx, query)
	res, err := t.q.ExecContext(ctx, query, args...)
	endSpan(span, err)
	return res, err
}

// QueryContext runs query through the wrapped DBTX inside a client span.
func (t *tracedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, span := t.start(ctx, query)
	rows, err := t.q.QueryContext(ctx, query, args...)
	endSpan(span, err)
	return rows, err
}

// QueryRowContext runs query through the wrapped DBTX inside a client span. The span records
// the query's error; sql.ErrNoRows only shows at Scan and is not an error of the statement.
func (t *tracedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx, span := t.start(ctx, query)
	row := t.q.QueryRowContext(ctx, query, args...)
	endSpan(span, row.Err())
	return row
}

// maxOperationLen bounds the keyword operationName returns; no SQL verb is longer.
const maxOperationLen = 16

// operationName returns the first keyword of query in upper case (SELECT, INSERT, WITH...),
// skipping leading white space and comments, or "" when query does not start with a word.
func operationName(query string) string {
	s := query
	for {
		s = strings.TrimLeft(s, " \t\r\n\f\v(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return ""
			}
			s = s[i+4:]
		default:
			n := 0
			for n < len(s) && n <= maxOperationLen && isLetter(s[n]) {
				n++
			}
			if n == 0 || n > maxOperationLen {
				return ""
			}
			return strings.ToUpper(s[:n])
		}
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
