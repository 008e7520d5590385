// Package shop is ctxtrail's example: three services that call each other, wired only with
// ctxtrail.
//
//	frontend  GET /checkout?user=ada@example.com&item=book&qty=1&card=4242
//	   └ orders    POST /orders    (SQLite through sqltx: the order and the charge commit together)
//	        └ payments  shop.Payments/Charge over gRPC    (card 0000 is declined; card "panic" panics)
//
// frontend → orders is HTTP (otelctx's middleware and transport); orders → payments is gRPC
// (otelctx/grpcctx's stats handlers), one trace across both. The HTTP services serve their live
// span monitor at /debug/ctxtrail. The demo (examples/demo) runs
// all three in one process on loopback; cmd/shop runs one per process, as docker-compose.yml does.
//
// The frontend also shows spans/evidence (evidence.go), armed by Config.Evidence, DemoEvidence
// or CTXTRAIL_EVIDENCE: GET /inventory waits on the stock lock that POST /inventory/reindex holds
// for 300 ms (its capture says "blocked"), GET /recommendations burns CPU (a CPU profile sliced by
// route puts it on top), GET /track leaves a goroutine behind until POST /track/flush (the
// census counts it), and /debug/evidence lists the captures and serves them for go tool trace.
package shop
