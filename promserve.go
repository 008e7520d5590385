package ctxtrail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"go.opentelemetry.io/otel"
)

// DefaultPrometheusAddr is where the prometheus metrics exporter serves MetricsPath when neither
// WithPrometheusAddr nor OTEL_EXPORTER_PROMETHEUS_HOST/_PORT says otherwise: the
// specification's default, which contrib's autoexport uses too.
const DefaultPrometheusAddr = "localhost:9464"

// WithPrometheusAddr sets the host:port where the prometheus metrics exporter serves
// MetricsPath for Prometheus to scrape; it wins over OTEL_EXPORTER_PROMETHEUS_HOST and _PORT.
// Use ":9464" or "0.0.0.0:9464" to be scraped from other machines: the default,
// DefaultPrometheusAddr, answers only on loopback.
func WithPrometheusAddr(hostport string) Option {
	return optionFunc(func(c config) config { c.metrics.promAddr = hostport; return c })
}

// WithoutPrometheusServer keeps the prometheus metrics exporter from opening a port of its own:
// the program mounts Provider.MetricsHandler on its own server instead, and
// OTEL_EXPORTER_PROMETHEUS_HOST and _PORT are not read.
func WithoutPrometheusServer() Option {
	return optionFunc(func(c config) config { c.metrics.promNoServer = true; return c })
}

// promServer serves the scrape endpoint on a port of its own, as contrib's autoexport does,
// from Install until the Provider's Shutdown.
type promServer struct {
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
	once sync.Once
	err  error
}

// prometheusAddr returns the address to listen on and the setting that chose it, for errors.
func prometheusAddr(option string) (addr, source string, err error) {
	if option != "" {
		source = fmt.Sprintf("ctxtrail.WithPrometheusAddr(%q)", option)
		host, port, err := net.SplitHostPort(option)
		if err != nil {
			return "", "", configErr("%s: want host:port, such as %s or :9464", source, DefaultPrometheusAddr)
		}
		if !validPort(port) {
			return "", "", configErr("%s: want a port number from 1 to 65535, such as 9464", source)
		}
		return net.JoinHostPort(host, port), source, nil
	}
	host, port := getenv("OTEL_EXPORTER_PROMETHEUS_HOST"), getenv("OTEL_EXPORTER_PROMETHEUS_PORT")
	switch {
	case host != "" && port != "":
		source = "OTEL_EXPORTER_PROMETHEUS_HOST and OTEL_EXPORTER_PROMETHEUS_PORT"
	case host != "":
		source = "OTEL_EXPORTER_PROMETHEUS_HOST"
	case port != "":
		source = "OTEL_EXPORTER_PROMETHEUS_PORT"
	default:
		source = "the default " + DefaultPrometheusAddr + " (OTEL_EXPORTER_PROMETHEUS_HOST and _PORT unset)"
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "9464"
	}
	if !validPort(port) {
		return "", "", configErr("OTEL_EXPORTER_PROMETHEUS_PORT=%q: want a port number from 1 to 65535, such as 9464", port)
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' { // [::1], as in a URL
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, port), source, nil
}

// badHost reports whether a listen error is the host's fault (unknown name, address not on this
// machine) rather than the port's.
func badHost(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) || errors.Is(err, syscall.EADDRNOTAVAIL)
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// servePrometheus listens on the address WithPrometheusAddr or the environment gives, at once so
// that Install reports a port in use, and serves h at MetricsPath until shutdown.
func servePrometheus(option string, h http.Handler) (*promServer, error) {
	addr, source, err := prometheusAddr(option)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fix := "set OTEL_EXPORTER_PROMETHEUS_PORT to a free port"
		if badHost(err) {
			fix = "set OTEL_EXPORTER_PROMETHEUS_HOST to an address of this machine (localhost, 0.0.0.0)"
		}
		if option != "" {
			fix = "give ctxtrail.WithPrometheusAddr a free port on an address of this machine"
		}
		return nil, configErr("%s: the prometheus metrics exporter cannot serve %s on %s: %w; %s, or use "+
			"ctxtrail.WithoutPrometheusServer() and mount Provider.MetricsHandler on your own server",
			source, httpctx.MetricsPath, addr, err, fix)
	}
	mux := http.NewServeMux()
	mux.Handle(httpctx.MetricsPath, h)
	s := &promServer{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       5 * time.Second,
			WriteTimeout:      15 * time.Second, // past the handler's own 10 s timeout
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			otel.Handle(fmt.Errorf("ctxtrail: the prometheus metrics exporter stopped serving %s on %s: %w", httpctx.MetricsPath, addr, err))
		}
	}()
	return s, nil
}

// shutdown closes the listener, lets scrapes under way finish by ctx's deadline, then closes
// what is left, and returns once the server's goroutine has. Later calls return the first's result.
func (s *promServer) shutdown(ctx context.Context) error {
	s.once.Do(func() {
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
			s.err = fmt.Errorf("ctxtrail: prometheus scrape endpoint: %w", err)
		}
		<-s.done
	})
	return s.err
}
