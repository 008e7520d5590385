package shop

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// Local is the whole shop running in one process on loopback: what the demo and the tests use.
type Local struct {
	URL  map[string]string // service name → base URL
	Tels map[string]*Telemetry

	svcs []*Service
	srvs []Server
}

// StartLocal starts frontend, orders and payments (gRPC, grpc:// in URL) on 127.0.0.1, each with its own ctxtrail
// (its own tracer provider and service name, not the globals). Spans go to spans as the console
// exporter's JSON lines unless opts choose another exporter; logs go to logs as JSON lines.
func StartLocal(ctx context.Context, spans, logs io.Writer, opts ...ctxtrail.Option) (l *Local, err error) {
	return StartLocalEvidence(ctx, spans, logs, nil, opts...)
}

// StartLocalEvidence is StartLocal with the frontend's spans/evidence options (DemoEvidence
// arms them all; nil leaves it to CTXTRAIL_EVIDENCE).
func StartLocalEvidence(ctx context.Context, spans, logs io.Writer, ev []evidence.Option, opts ...ctxtrail.Option) (l *Local, err error) {
	l = &Local{URL: map[string]string{}, Tels: map[string]*Telemetry{}}
	defer func() {
		if err != nil {
			_ = l.Close(context.Background())
		}
	}()
	lis := map[string]net.Listener{}
	for _, name := range Services {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, ln := range lis {
				ln.Close()
			}
			return nil, err
		}
		lis[name] = ln
		l.URL[name] = "http://" + ln.Addr().String()
		if name == Payments {
			l.URL[name] = "grpc://" + ln.Addr().String()
		}
	}
	for _, name := range Services {
		cfg := Config{Service: name, Addr: lis[name].Addr().String(), OrdersURL: l.URL[Orders], PaymentsURL: l.URL[Payments]}
		topts := append([]ctxtrail.Option{ctxtrail.WithoutGlobal(), ctxtrail.WithWriter(spans)}, opts...)
		if name == Frontend {
			cfg.Evidence = ev
			if cfg.Recorder, err = NewRecorder(cfg); err != nil {
				closeAll(lis)
				return nil, err
			}
			topts = append(topts, ctxtrail.WithSpanExportHold(cfg.Recorder))
		}
		tel, err := NewTelemetry(ctx, name, logs, topts...)
		if err != nil {
			_ = cfg.Recorder.Shutdown(ctx)
			closeAll(lis)
			return nil, err
		}
		l.Tels[name] = tel
		svc, err := NewService(ctx, cfg, tel)
		if err != nil {
			closeAll(lis)
			return nil, err
		}
		l.svcs = append(l.svcs, svc)
		srv := svc.NewServer()
		l.srvs = append(l.srvs, srv)
		ln := lis[name]
		delete(lis, name)
		go func() { _ = srv.Serve(ln) }()
	}
	return l, nil
}

func closeAll(lis map[string]net.Listener) {
	for _, ln := range lis {
		ln.Close()
	}
}

// Frontend returns the frontend service.
func (l *Local) Frontend() *Service {
	for _, s := range l.svcs {
		if s.cfg.Service == Frontend {
			return s
		}
	}
	return nil
}

// Close stops the servers, then flushes every service's spans and logs.
func (l *Local) Close(ctx context.Context) error {
	var errs []error
	for _, srv := range l.srvs {
		errs = append(errs, srv.Shutdown(ctx))
	}
	for _, svc := range l.svcs {
		errs = append(errs, svc.Close())
	}
	for _, tel := range l.Tels {
		errs = append(errs, tel.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
