// Package httpattrs holds a test, not a benchmark: it sends the same requests through
// ctxtrail's httpctx.NewHandler and otelhttp.NewHandler and compares the attribute keys of their
// server spans, so a user moving from otelhttp finds every key their dashboards query. It lives
// in the benchmarks module because otelhttp never enters the library's go.mod.
package httpattrs
