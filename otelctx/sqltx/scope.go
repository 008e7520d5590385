package sqltx

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// txRoot is one database transaction: what every scope running in it shares.
type txRoot struct {
	db     *sql.DB
	tx     *sql.Tx
	opts   sql.TxOptions
	q      DBTX // tx, or tx wrapped with statement spans
	system string
	tp     trace.TracerProvider // the transaction's spans' provider, inherited by nested calls

	done atomic.Bool   // set once commit or rollback has started: joining it is an error then
	seq  atomic.Uint64 // numbers savepoints, so nested names never clash
}

// scope is one RunInTx that began a transaction or a savepoint. Joined calls share the scope
// they join and report their failures to it.
type scope struct {
	root   *txRoot
	parent *scope // the scope that was in the context before: same db (a savepoint, a new tx) or another

	ended atomic.Bool // fn has returned: a context that escaped it must not join any more

	mu    sync.Mutex
	cause error // first failure of a joined call; the scope then rolls back whatever fn returns
}

// scopeKey is the context key of the innermost scope. An unexported type, so no other package can
// read or forge it.
type scopeKey struct{}

func scopeFrom(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// lookup returns the innermost scope on db that ctx carries, or nil.
func lookup(ctx context.Context, db *sql.DB) *scope {
	if db == nil {
		return nil
	}
	for s := scopeFrom(ctx); s != nil; s = s.parent {
		if s.root.db == db {
			return s
		}
	}
	return nil
}

// markRollbackOnly records the first failure of a joined call.
func (s *scope) markRollbackOnly(err error) {
	s.mu.Lock()
	if s.cause == nil {
		s.cause = err
	}
	s.mu.Unlock()
}

func (s *scope) rollbackCause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}
