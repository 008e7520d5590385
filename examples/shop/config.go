package shop

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// Service names: one binary serves each, SHOP_SERVICE chooses.
const (
	Frontend = "frontend"
	Orders   = "orders"
	Payments = "payments"
)

// Services lists every shop service, callers first.
var Services = []string{Frontend, Orders, Payments}

// Environment variables the shop reads (docker-compose.yml sets them; its test checks them).
const (
	EnvService     = "SHOP_SERVICE"
	EnvAddr        = "SHOP_ADDR"
	EnvOrdersURL   = "ORDERS_URL"
	EnvPaymentsURL = "PAYMENTS_URL"
	EnvDB          = "SHOP_DB"
)

// Config is one service's configuration.
type Config struct {
	Service     string // frontend, orders or payments
	Addr        string // listen address, such as ":8081"
	OrdersURL   string // frontend → orders
	PaymentsURL string // orders → payments, over gRPC: grpc://host:port
	DB          string // orders: SQLite file (":memory:" style names are fine)
	// Evidence are the frontend's spans/evidence options (none: CTXTRAIL_EVIDENCE decides, and
	// nothing is armed without it). Only the frontend has a Recorder: the runtime allows one
	// flight recorder a process, and StartLocal runs the three services in one.
	Evidence []evidence.Option
	// Recorder is the frontend's Recorder made before its Install (NewRecorder), so that Install
	// holds a captured request's server span until its breakdown is read
	// (ctxtrail.WithSpanExportHold). Nil: NewService makes one from Evidence, and the
	// breakdown goes on a child span. The Service shuts it down either way.
	Recorder *evidence.Recorder
}

// Needs returns the downstream URL variables a service requires.
func Needs(service string) []string {
	switch service {
	case Frontend:
		return []string{EnvOrdersURL}
	case Orders:
		return []string{EnvPaymentsURL}
	}
	return nil
}

// ConfigFromEnv reads a Config from the environment and checks it.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Service:     strings.TrimSpace(os.Getenv(EnvService)),
		Addr:        strings.TrimSpace(os.Getenv(EnvAddr)),
		OrdersURL:   strings.TrimSpace(os.Getenv(EnvOrdersURL)),
		PaymentsURL: strings.TrimSpace(os.Getenv(EnvPaymentsURL)),
		DB:          strings.TrimSpace(os.Getenv(EnvDB)),
	}
	return c, c.Check()
}

// Check reports what is missing or malformed.
func (c Config) Check() error {
	known := false
	for _, s := range Services {
		known = known || s == c.Service
	}
	if !known {
		return fmt.Errorf("shop: %s=%q: want one of %s", EnvService, c.Service, strings.Join(Services, ", "))
	}
	if c.Addr == "" {
		return fmt.Errorf("shop: %s is empty: want a listen address such as :8081", EnvAddr)
	}
	urls := map[string]string{EnvOrdersURL: c.OrdersURL, EnvPaymentsURL: c.PaymentsURL}
	for _, env := range Needs(c.Service) {
		u, err := url.Parse(urls[env])
		if env == EnvPaymentsURL {
			if err != nil || u.Scheme != "grpc" || u.Port() == "" || u.Path != "" {
				return fmt.Errorf("shop: %s=%q: the %s service needs a gRPC URL such as grpc://payments:8082", env, urls[env], c.Service)
			}
			continue
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("shop: %s=%q: the %s service needs an http URL such as http://orders:8081", env, urls[env], c.Service)
		}
	}
	return nil
}
