package reliability

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Mode is how a Collector answers an export.
type Mode int32

// Collector modes. The zero Mode is unset and answers like Healthy.
const (
	Healthy     Mode = iota + 1 // 200 with an empty ExportTraceServiceResponse; spans counted
	Unavailable                 // 503 with Retry-After: 1
	Hang                        // never answers; returns when the client gives up or Close runs
	HugeBody                    // 200 with a 5 MiB body that is not a valid response
)

// HugeBodySize is how many bytes a HugeBody answer carries.
const HugeBodySize = 5 << 20

// maxRequestBody bounds what the collector reads from one export.
const maxRequestBody = 64 << 20

// Collector is a fake OTLP/HTTP trace collector on 127.0.0.1 whose answers can be switched
// between healthy and faulty while it runs. It decodes what it receives, counts the spans and
// hands each to an optional callback. It is safe for concurrent use.
type Collector struct {
	// OnSpan, if set before the first export, is called for every span received while
	// Healthy. It may be called concurrently.
	OnSpan func(*tracepb.Span)

	srv      *http.Server
	ln       net.Listener
	url      string
	mode     atomic.Int32
	spans    atomic.Int64
	exports  atomic.Int64
	answered atomic.Int64
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// NewCollector starts a Collector in mode m on a free loopback port.
func NewCollector(m Mode) (*Collector, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("collector listen: %w", err)
	}
	c := &Collector{ln: ln, url: "http://" + ln.Addr().String(), stop: make(chan struct{}), done: make(chan struct{})}
	c.mode.Store(int32(m))
	c.srv = &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// URL returns the collector's base URL, for ctxtrail.WithOTLP.
func (c *Collector) URL() string { return c.url }

// SetMode switches how the collector answers from the next export on.
func (c *Collector) SetMode(m Mode) { c.mode.Store(int32(m)) }

// Spans returns how many spans the collector accepted.
func (c *Collector) Spans() int64 { return c.spans.Load() }

// Exports returns how many export requests reached the collector, whatever the answer.
func (c *Collector) Exports() int64 { return c.exports.Load() }

// Close releases hanging exports, stops the server and waits for it.
func (c *Collector) Close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, c.srv.Close())
		}
		<-c.done
	})
	return err
}

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "want POST /v1/traces", http.StatusNotFound)
		return
	}
	c.exports.Add(1)
	switch Mode(c.mode.Load()) {
	case Unavailable:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
		w.Header().Set("Retry-After", strconv.Itoa(1))
		http.Error(w, "collector unavailable", http.StatusServiceUnavailable)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-c.stop:
		}
		return
	case HugeBody:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Header().Set("Content-Length", strconv.Itoa(HugeBodySize))
		chunk := bytes.Repeat([]byte{0xff}, 64<<10)
		for n := 0; n < HugeBodySize; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	n, err := c.decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.spans.Add(int64(n))
	c.answered.Add(1)
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

func (c *Collector) decode(r *http.Request) (int, error) {
	var body io.Reader = io.LimitReader(r.Body, maxRequestBody)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxRequestBody)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return 0, fmt.Errorf("decode ExportTraceServiceRequest: %w", err)
	}
	n := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				n++
				if c.OnSpan != nil {
					c.OnSpan(s)
				}
			}
		}
	}
	return n, nil
}

// RefusedURL returns a loopback URL on which nothing listens: a port taken and released, so a
// connection to it is refused.
func RefusedURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("release port: %w", err)
	}
	return "http://" + addr, nil
}
