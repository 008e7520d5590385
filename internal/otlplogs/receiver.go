// Package otlplogs is a loopback OTLP log collector for tests, over HTTP (protobuf) and gRPC: it
// decodes every export into Records that tests can check field by field, and can be told to
// hang or to fail.
package otlplogs

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Record is one decoded log record.
type Record struct {
	Service      string // the resource's service.name
	Scope        string
	TraceID      string // hex, "" when the record has none
	SpanID       string
	Flags        uint32
	Severity     int32
	SeverityText string
	Body         string // the string body, or the text of another body
	Attrs        map[string]*commonpb.AnyValue
}

// Attr returns the string, integer, float or bool value of attribute k, or nil.
func (r Record) Attr(k string) any {
	v, ok := r.Attrs[k]
	if !ok {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	}
	return v.String()
}

// Mode is how the receiver answers.
type Mode int32

// Receiver modes; the zero Mode answers like Healthy.
const (
	Healthy Mode = iota + 1
	Fail         // HTTP 400 / gRPC InvalidArgument: a permanent error, not retried
	Hang         // never answers until the client gives up or the test ends
)

// Receiver collects log records. It is safe for concurrent use.
type Receiver struct {
	collogs.UnimplementedLogsServiceServer

	mode    atomic.Int32
	exports atomic.Int64
	release chan struct{}
	mu      sync.Mutex
	records []Record
}

func newReceiver() *Receiver { return &Receiver{release: make(chan struct{})} }

// SetMode switches how later exports are answered.
func (r *Receiver) SetMode(m Mode) { r.mode.Store(int32(m)) }

// Exports counts the export requests received, answered or not.
func (r *Receiver) Exports() int64 { return r.exports.Load() }

// Records returns a copy of the records received so far.
func (r *Receiver) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.records...)
}

// NewHTTP starts an OTLP/HTTP receiver on 127.0.0.1 and returns it and its base URL; the test's
// cleanup stops it.
func NewHTTP(t testing.TB) (*Receiver, string) {
	r := newReceiver()
	srv := httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	t.Cleanup(func() {
		close(r.release) // hanging handlers return, so Close does not wait for them
		srv.Close()
	})
	return r, srv.URL
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.exports.Add(1)
	switch Mode(r.mode.Load()) {
	case Hang:
		select {
		case <-req.Context().Done():
		case <-r.release:
		}
		return
	case Fail:
		http.Error(w, "refused by the test", http.StatusBadRequest)
		return
	}
	if req.URL.Path != "/v1/logs" {
		// Another signal (the same endpoint gets spans too): accepted and ignored.
		w.Header().Set("Content-Type", "application/x-protobuf")
		return
	}
	var body io.Reader = io.LimitReader(req.Body, 64<<20)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var msg collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&msg)
	out, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// NewGRPC starts an OTLP/gRPC receiver on 127.0.0.1 and returns it and its URL
// (http://127.0.0.1:port); the test's cleanup stops it.
func NewGRPC(t testing.TB) (*Receiver, string) {
	r := newReceiver()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collogs.RegisterLogsServiceServer(srv, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		close(r.release)
		srv.Stop()
		<-done
	})
	return r, "http://" + lis.Addr().String()
}

// Export implements the OTLP/gRPC logs service.
func (r *Receiver) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	r.exports.Add(1)
	switch Mode(r.mode.Load()) {
	case Hang:
		select {
		case <-ctx.Done():
		case <-r.release:
		}
		return nil, status.Error(codes.Unavailable, "hung by the test")
	case Fail:
		return nil, status.Error(codes.InvalidArgument, "refused by the test")
	}
	r.add(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (r *Receiver) add(msg *collogs.ExportLogsServiceRequest) {
	var out []Record
	for _, rl := range msg.ResourceLogs {
		var service string
		for _, kv := range rl.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				rec := Record{
					Service:      service,
					Scope:        sl.GetScope().GetName(),
					Flags:        lr.Flags,
					Severity:     int32(lr.SeverityNumber),
					SeverityText: lr.SeverityText,
					Attrs:        map[string]*commonpb.AnyValue{},
				}
				if len(lr.TraceId) > 0 {
					rec.TraceID = hex.EncodeToString(lr.TraceId)
				}
				if len(lr.SpanId) > 0 {
					rec.SpanID = hex.EncodeToString(lr.SpanId)
				}
				if s, ok := lr.GetBody().GetValue().(*commonpb.AnyValue_StringValue); ok {
					rec.Body = s.StringValue
				} else if lr.Body != nil {
					rec.Body = lr.Body.String()
				}
				for _, kv := range lr.Attributes {
					rec.Attrs[kv.Key] = kv.Value
				}
				out = append(out, rec)
			}
		}
	}
	r.mu.Lock()
	r.records = append(r.records, out...)
	r.mu.Unlock()
}
