package shop

import (
	"net/http"
	"time"
)

// The limits of the shop's HTTP servers: what a service on the internet should set, because
// net/http's defaults (1 MiB of headers, no timeouts but none) let one client hold a megabyte and
// a goroutine per connection for as long as it likes.
const (
	// MaxHeaderBytes bounds the request line and headers of one request; past it net/http answers
	// 431 before any handler runs. 64 KiB holds every trace header ctxtrail reads at its W3C
	// limit (baggage 8 KiB, tracestate about 16 KiB, traceparent and x-headers) with room for
	// cookies and auth, and is a sixteenth of the default.
	MaxHeaderBytes = 64 << 10
	// ReadHeaderTimeout bounds how long a client may take to send its headers (slowloris).
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds the time from the end of the request's headers to the end of the
	// response; longer than any handler of the shop should take.
	WriteTimeout = 30 * time.Second
	// IdleTimeout bounds how long a keep-alive connection waits for its next request.
	IdleTimeout = 2 * time.Minute
)

// NewHTTPServer returns an http.Server for h with the shop's limits.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
	}
}
