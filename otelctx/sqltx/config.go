package sqltx

import (
	"database/sql"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// DefaultStatementTextLimit is the cap on recorded statement text when WithStatementText is given
// a limit of zero or less.
const DefaultStatementTextLimit = 1024

// MaxStatementTextLimit is the largest cap WithStatementText accepts; larger limits are lowered
// to it, so one huge statement never makes one huge span.
const MaxStatementTextLimit = 64 << 10

// nesting says what RunInTx does when the context already carries a transaction on the same db.
// It starts at one so the zero value means "unset", which newConfig turns into nestJoin.
type nesting int

const (
	nestJoin      nesting = iota + 1 // run fn in the outer transaction (the default)
	nestSavepoint                    // run fn between SAVEPOINT and RELEASE in the outer transaction
	nestNew                          // begin an independent transaction
)

func (n nesting) String() string {
	switch n {
	case nestSavepoint:
		return "savepoint"
	case nestNew:
		return "new"
	default:
		return "join"
	}
}

type config struct {
	tp         trace.TracerProvider
	tpSet      bool // given by WithTracerProvider, not defaulted to the global one
	txOpts     sql.TxOptions
	txOptsSet  bool
	nesting    nesting
	statements bool
	textLimit  int // bytes of statement text recorded; 0 records none
	system     string
}

// Option configures RunInTx and Querier.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTracerProvider makes the spans with tp instead of the global provider
// (otel.GetTracerProvider at the time of the call). A nested RunInTx without this option uses the
// provider of the transaction it nests in. A nil tp is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c config) config {
		if tp != nil {
			c.tp = tp
			c.tpSet = true
		}
		return c
	})
}

// WithTxOptions begins the transaction with opts (isolation level, read-only). When RunInTx joins
// an outer transaction or opens a savepoint in it, an explicit isolation level that differs from
// the outer one is refused with ErrTxOptionsConflict rather than silently ignored.
func WithTxOptions(opts sql.TxOptions) Option {
	return optionFunc(func(c config) config {
		c.txOpts = opts
		c.txOptsSet = true
		return c
	})
}

// WithSavepoint makes a nested RunInTx run fn inside a savepoint of the outer transaction: an
// error or panic in fn rolls back to the savepoint and the outer transaction carries on. Without
// an outer transaction it begins one, as the default does. The last nesting option wins.
func WithSavepoint() Option {
	return optionFunc(func(c config) config { c.nesting = nestSavepoint; return c })
}

// WithNewTx makes RunInTx begin an independent transaction even when the context carries one on
// the same db: it commits or rolls back on its own, whatever the outer one does later. It needs a
// second connection from the pool. The last nesting option wins.
func WithNewTx() Option {
	return optionFunc(func(c config) config { c.nesting = nestNew; return c })
}

// WithStatementSpans makes a client span for every statement run through Querier: inside a
// transaction begun with this option, or on the db when given to Querier directly. The span
// carries the database system and the operation name (SELECT, INSERT...), never the arguments.
func WithStatementSpans() Option {
	return optionFunc(func(c config) config { c.statements = true; return c })
}

// WithStatementText turns on statement spans and records the statement text (db.query.text), cut
// to at most limit bytes on a UTF-8 boundary. A limit of zero or less means
// DefaultStatementTextLimit; more than MaxStatementTextLimit means MaxStatementTextLimit. Only
// opt in when statements never embed secrets as literals: arguments are never recorded, but
// literal values inside the text are.
func WithStatementText(limit int) Option {
	return optionFunc(func(c config) config {
		switch {
		case limit <= 0:
			limit = DefaultStatementTextLimit
		case limit > MaxStatementTextLimit:
			limit = MaxStatementTextLimit
		}
		c.statements = true
		c.textLimit = limit
		return c
	})
}

// WithDBSystem sets the db.system.name recorded on spans (for example "postgresql", "sqlite").
// By default it is guessed from the driver's package: sqlite, postgresql, mysql or other_sql.
func WithDBSystem(name string) Option {
	return optionFunc(func(c config) config { c.system = name; return c })
}

func newConfig(opts []Option) config {
	c := config{nesting: nestJoin}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	return c
}

func (c config) tracer() trace.Tracer {
	return c.tp.Tracer(instrumentationName)
}
