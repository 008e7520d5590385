//go:build go1.27

package baggage_test

import "net/http"

// allowHeaderValues lifts Go 1.27's limit on header values a request may carry
// (http.DefaultMaxHeaderValueCount, 500), so that tests can send more.
func allowHeaderValues(s *http.Server, n int) { s.MaxHeaderValueCount = n }
