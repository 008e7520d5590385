package sqltx

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/ctxtrail/ctxtrail/otelctx/sqltx"

// Span names. A transaction is one SpanTransaction span around fn with SpanBegin and SpanCommit
// or SpanRollback as children; a savepoint is one SpanNested span around fn with SpanSavepoint and
// SpanRelease or SpanRollbackTo as children. A joined call makes no span of its own.
const (
	SpanTransaction = "sqltx.transaction"
	SpanBegin       = "sqltx.begin"
	SpanCommit      = "sqltx.commit"
	SpanRollback    = "sqltx.rollback"
	SpanNested      = "sqltx.nested"
	SpanSavepoint   = "sqltx.savepoint"
	SpanRelease     = "sqltx.release"
	SpanRollbackTo  = "sqltx.rollback_to"
)

// Attribute keys of this package (the db.* ones come from the OpenTelemetry semantic conventions).
const (
	// AttrDBSystem is the pre-1.26 semantic-convention key, still read by many backends; spans
	// carry it next to db.system.name with the same value.
	AttrDBSystem = attribute.Key("db.system")
	// AttrIsolation is the isolation level asked for, as sql.IsolationLevel.String spells it.
	AttrIsolation = attribute.Key("sqltx.isolation")
	// AttrReadOnly is whether the transaction was begun read-only.
	AttrReadOnly = attribute.Key("sqltx.read_only")
	// AttrOutcome is how a SpanTransaction or SpanNested span ended: "commit" (or "release" for a
	// savepoint), "rollback", or "commit_failed" / "release_failed".
	AttrOutcome = attribute.Key("sqltx.outcome")
	// AttrRollbackReason is why a rollback happened: "error", "panic", "goexit" or "rollback_only".
	AttrRollbackReason = attribute.Key("sqltx.rollback.reason")
	// AttrSavepoint is the savepoint's name on SpanNested spans.
	AttrSavepoint = attribute.Key("sqltx.savepoint")
	// AttrNewTx marks a transaction begun with WithNewTx while another was in the context.
	AttrNewTx = attribute.Key("sqltx.new_tx")
)

// maxStatusLen caps the status description copied from an error, so a driver error that quotes
// a huge statement does not make a huge span.
const maxStatusLen = 512

// systemFor returns the db.system.name for db: the configured one, else a guess from the driver's
// package path.
func systemFor(db *sql.DB, configured string) string {
	if configured != "" {
		return configured
	}
	t := reflect.TypeOf(db.Driver())
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "other_sql"
	}
	path := t.PkgPath()
	switch {
	case strings.Contains(path, "sqlite"):
		return "sqlite"
	case strings.Contains(path, "jackc/pgx"), strings.Contains(path, "lib/pq"):
		return "postgresql"
	case strings.Contains(path, "mysql"):
		return "mysql"
	case strings.Contains(path, "mssql"):
		return "microsoft.sql_server"
	default:
		return "other_sql"
	}
}

func systemAttrs(system string) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.DBSystemNameKey.String(system), AttrDBSystem.String(system)}
}

// clientKind is built once: an option value, never changed, that saves an allocation per span.
var clientKind = trace.WithSpanKind(trace.SpanKindClient)

// clientSpan starts a child span for one statement that sqltx itself runs (BEGIN, COMMIT...).
func clientSpan(tracer trace.Tracer, ctx context.Context, name, op string, sys []attribute.KeyValue) trace.Span {
	attrs := make([]attribute.KeyValue, 0, len(sys)+1)
	attrs = append(attrs, sys...)
	attrs = append(attrs, semconv.DBOperationNameKey.String(op))
	_, span := tracer.Start(ctx, name, clientKind, trace.WithAttributes(attrs...))
	return span
}

// endSpan records err on span, when there is one, and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		markError(span, err)
	}
	span.End()
}

func markError(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, capText(err.Error(), maxStatusLen))
}

// capText cuts s to at most limit bytes without splitting a UTF-8 sequence.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
