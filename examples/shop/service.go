package shop

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ctxtrail/ctxtrail/examples/shopdb"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "modernc.org/sqlite" // the orders service's database
)

// maxBody bounds every request and response body the shop reads.
const maxBody = 64 << 10

// Service is one running shop service.
type Service struct {
	cfg    Config
	tel    *Telemetry
	client *http.Client // calls downstream through ctxtrail's transport
	// payments is orders' gRPC connection to payments, through ctxtrail's client handler.
	payments *grpc.ClientConn
	db       *sql.DB
	store    *shopdb.Store
	txOpts   []sqltx.Option
	mux      *http.ServeMux
	ev       *evidenceRoutes // the frontend's (evidence.go)
}

// NewService builds the service cfg names, with tel's ctxtrail.
func NewService(ctx context.Context, cfg Config, tel *Telemetry) (*Service, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg,
		tel: tel,
		client: &http.Client{
			Transport: httpctx.NewTransport(nil, httpctx.WithProvider(tel.Provider)),
			Timeout:   10 * time.Second,
		},
		mux: http.NewServeMux(),
	}
	s.mux.Handle("GET /debug/ctxtrail", tel.Monitor)
	switch cfg.Service {
	case Frontend:
		s.mux.HandleFunc("GET /checkout", s.checkout)
		ev, err := newEvidenceRoutes(s.mux, cfg.Recorder, cfg.Evidence, tel.Provider.MeterProvider())
		if err != nil {
			return nil, err
		}
		s.ev = ev
		ev.rec.AddToMonitor(tel.Monitor, "/debug/evidence") // left-behind goroutines and captures on /debug/ctxtrail
	case Orders:
		u, _ := url.Parse(cfg.PaymentsURL) // Check parsed it
		// The answer's metadata is bounded as payments bounds the calls' (grpc-go's default is 16 MiB).
		conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStatsHandler(grpcctx.NewClientHandler(grpcctx.WithProvider(tel.Provider))),
			grpc.WithMaxHeaderListSize(grpcctx.DefaultMaxHeaderListSize))
		if err != nil {
			return nil, err
		}
		s.payments = conn
		if err := s.openDB(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		s.mux.HandleFunc("POST /orders", s.placeOrder)
	}
	return s, nil
}

// Server is what serves one shop service on a listener: an *http.Server for frontend and
// orders, a gRPC server for payments.
type Server interface {
	Serve(net.Listener) error
	// Shutdown stops taking calls and waits for those in flight, until ctx is done.
	Shutdown(ctx context.Context) error
}

// NewServer returns the service's server.
func (s *Service) NewServer() Server {
	if s.cfg.Service == Payments {
		return grpcServer{s.newPaymentsServer()}
	}
	return NewHTTPServer(s.Handler()) // httpserver.go: header and time limits
}

type grpcServer struct{ *grpc.Server }

// Shutdown is GracefulStop bounded by ctx: past it, the calls still running are cut.
func (g grpcServer) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		g.Stop()
		<-done
		return ctx.Err()
	}
}

// Handler is the service's HTTP handler: ctxtrail's middleware (trace, request store) around
// the trail's (breadcrumbs, panic recovery with a report) around the routes.
func (s *Service) Handler() http.Handler {
	// The evidence middleware (a no-op unless armed) sits innermost, where the route is known.
	return httpctx.NewHandler(trail.NewHandler(s.Evidence().Middleware(s.mux), trail.WithSink(s.tel.ReportSink())), httpctx.WithProvider(s.tel.Provider))
}

// Close releases the database and the connection to payments.
func (s *Service) Close() error {
	var errs []error
	if s.ev != nil {
		errs = append(errs, s.ev.close(context.Background()))
	}
	if s.payments != nil {
		errs = append(errs, s.payments.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// Seeded customers of the orders service.
var customers = []struct {
	Email, Name string
	Credit      int64
}{
	{"ada@example.com", "Ada", 100_000},
	{"bob@example.com", "Bob", 500},
}

// Catalogue prices, in cents.
var prices = map[string]int64{"book": 1500, "pen": 200, "laptop": 120_000}

func (s *Service) openDB(ctx context.Context) error {
	// Without a file the database lives in memory, one per Service.
	dsn := fmt.Sprintf("file:orders-%p", s) + "?mode=memory&cache=shared&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if s.cfg.DB != "" {
		dsn = "file:" + s.cfg.DB + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; queueing here beats "database is locked"
	opts := []sqltx.Option{sqltx.WithTracerProvider(s.tel.Provider.TracerProvider()), sqltx.WithStatementSpans()}
	s.txOpts = opts
	if err := shopdb.CreateSchema(ctx, db, shopdb.SQLite, opts...); err != nil {
		db.Close()
		return err
	}
	s.db, s.store = db, shopdb.New(db, opts...)
	for _, c := range customers {
		if _, err := s.store.CreateUser(ctx, c.Email, c.Name, c.Credit); err != nil && !errors.Is(err, shopdb.ErrEmailTaken) {
			db.Close()
			return err
		}
	}
	return nil
}

// call posts body as JSON to url and decodes the answer into out. A non-2xx answer is an
// *httpError carrying the status and the peer's message.
func (s *Service) call(ctx context.Context, url string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		return &httpError{status: resp.StatusCode, msg: e.Error}
	}
	return json.Unmarshal(data, out)
}

type httpError struct {
	status int
	msg    string
}

// Error is the peer's own message, else its status. The status is not repeated before the
// message: each hop would add it again ("402 Payment Required: charge: 402 Payment Required:
// …"); statusOf reads it from the type, and the client span carries it.
func (e *httpError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	}
	return e.msg
}

// statusOf maps an error to the status a caller should see: the peer's 4xx passes through,
// anything else from downstream is a 502.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) && he.status/100 == 4 {
		return he.status
	}
	return http.StatusBadGateway
}

// logFailure logs a failed request: a warning when the caller was refused (4xx); when the shop
// itself failed, an error line (which marks the span and leaves a breadcrumb) and an error
// report carrying the request's breadcrumbs.
func logFailure(ctx context.Context, log zapbridge.ContextLogger, status int, msg string, err error) {
	if status/100 == 4 {
		log.Warn(msg, zap.Int("status", status), zap.Error(err))
		return
	}
	log.Error(msg, zap.Int("status", status), zap.Error(err))
	trail.Capture(ctx, fmt.Errorf("%s: %w", msg, err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
