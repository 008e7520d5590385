//go:build go1.27

// Package headervalues lets tests lift the limit Go 1.27 puts on how many header values a
// request may carry (http.DefaultMaxHeaderValueCount, 500), so that hostile-input tests reach
// ctxtrail's own bounds instead of net/http's. Before Go 1.27 there is no such limit.
package headervalues

import "net/http"

// Allow lets s accept up to n header values a request.
func Allow(s *http.Server, n int) { s.MaxHeaderValueCount = n }
